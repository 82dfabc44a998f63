#include "proxy_inspect.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <ostream>

#include "exit_codes.h"
#include "netrecord.h"

namespace tcpscribe {
namespace {

struct SideSummary {
  uint64_t chunks = 0;
  uint64_t bytes = 0;
  const char* end = "open";  // "hup", "err", or still "open"
};

std::string base_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int run_inspect(const std::vector<std::string>& logs, const std::string& extract_dir,
                std::ostream& out, std::ostream& err) {
  int rc = kExitOk;
  std::map<std::string, int> names_used;  // --extract: a basename's uses so far
  for (const std::string& path : logs) {
    NetrecordReader reader;
    if (!reader.open(path)) {
      err << "tcpscribe proxy: " << reader.error() << "\n";
      rc = kExitInput;
      continue;
    }
    int stream_fd[2] = {-1, -1};
    bool write_failed = false;
    if (!extract_dir.empty()) {
      // Two logs with one basename (a/log_1, b/log_1) must not overwrite
      // each other's streams: the second becomes log_1-2.c / .s.
      std::string name = base_name(path);
      if (const int n = ++names_used[name]; n > 1) {
        std::string alt;
        for (int k = n;; ++k) {
          alt = name + "-" + std::to_string(k);
          if (names_used.count(alt) == 0) break;
        }
        names_used[alt] = 1;
        err << "tcpscribe proxy: " << path << ": extracted as " << alt << ".c and " << alt
            << ".s (" << name << " was taken by an earlier log)\n";
        name = alt;
      }
      for (int i = 0; i < 2; ++i) {
        const std::string p = extract_dir + "/" + name + (i == 0 ? ".c" : ".s");
        stream_fd[i] = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (stream_fd[i] < 0) {
          err << "tcpscribe proxy: cannot create " << p << ": " << std::strerror(errno) << "\n";
          write_failed = true;
        }
      }
    }
    SideSummary side[2];
    uint64_t records = 0;
    int64_t first_us = 0, last_us = 0;
    bool con_first = false;
    std::string problem;
    NetrecordRecord r;
    NetrecordReader::Status st;
    while ((st = reader.next(r)) == NetrecordReader::Status::kRecord) {
      if (records == 0) {
        con_first = r.kind == NetrecordRecord::Kind::kConnect && r.side == 'c';
        first_us = r.micros;
      }
      ++records;
      last_us = r.micros;
      SideSummary& s = side[r.side == 'c' ? 0 : 1];
      switch (r.kind) {
        case NetrecordRecord::Kind::kData: {
          ++s.chunks;
          s.bytes += r.data.size();
          const int fd = stream_fd[r.side == 'c' ? 0 : 1];
          if (fd >= 0 && ::write(fd, r.data.data(), r.data.size()) !=
                             static_cast<ssize_t>(r.data.size())) {
            write_failed = true;
          }
          break;
        }
        case NetrecordRecord::Kind::kHangup: s.end = "hup"; break;
        case NetrecordRecord::Kind::kError: s.end = "err"; break;
        case NetrecordRecord::Kind::kConnect: break;
      }
    }
    for (int fd : stream_fd) {
      if (fd >= 0 && ::close(fd) != 0) write_failed = true;
    }
    if (st != NetrecordReader::Status::kEnd) {
      problem = reader.error();
    } else if (reader.ended_mid_record()) {
      problem = "ends inside a record (the recorder stopped mid-write)";
    } else if (records > 0 && !con_first) {
      problem = "does not start with 'c ... con'";
    } else if (records == 0) {
      problem = "empty (0 bytes): nothing was recorded (a full disk, or the recorder stopped "
                "before the connection's first record)";
    }
    // The connection's duration (first to last record) and where it began
    // on the recorder's clock.
    out << path << ": " << records << " records, lasting "
        << format_netrecord_time(last_us - first_us) << " s from "
        << format_netrecord_time(first_us) << " s; c: " << side[0].chunks << " chunks " << side[0].bytes << " bytes " << side[0].end
        << "; s: " << side[1].chunks << " chunks " << side[1].bytes << " bytes " << side[1].end;
    if (!problem.empty()) out << "; DAMAGED: " << problem;
    out << "\n";
    if (!problem.empty()) rc = std::max(rc, static_cast<int>(kExitInput));
    if (write_failed) {
      err << "tcpscribe proxy: cannot write the streams of " << path << " into " << extract_dir
          << "\n";
      rc = kExitOutput;
    }
  }
  return rc;
}

}  // namespace tcpscribe
