// The netrecord log reader (src/outputs/netrecord) as `proxy --inspect`
// and replay use it. The input is a log. Properties:
//  - read from a string and from a file (whose reads are chunked) the
//    records are the same, with the same end status;
//  - each record lies in the input: its header starts at its offset with
//    its side letter, offsets grow, a data record's bytes are the input's
//    bytes after the header line, as many as declared unless the record is
//    the cut-short last one;
//  - `proxy --inspect --extract` writes each side's stream as exactly the
//    concatenation of that side's data records, and exits 0 only for a
//    whole log, 2 for a damaged one;
//  - replay's conversation loader gives the records' events in order.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "netrecord.h"
#include "proxy_inspect.h"
#include "replay_conversation.h"

using namespace tcpscribe;

namespace {

struct Read {
  std::vector<NetrecordRecord> records;
  NetrecordReader::Status end;
  bool mid_record;
};

Read read_all(NetrecordReader& r) {
  Read out;
  NetrecordRecord rec;
  while ((out.end = r.next(rec)) == NetrecordReader::Status::kRecord) out.records.push_back(rec);
  out.mid_record = r.ended_mid_record();
  FUZZ_CHECK(out.end == NetrecordReader::Status::kEnd || !r.error().empty(),
             "a bad end without an error");
  return out;
}

bool same(const NetrecordRecord& a, const NetrecordRecord& b) {
  return a.side == b.side && a.micros == b.micros && a.kind == b.kind && a.data == b.data &&
         a.declared == b.declared && a.truncated == b.truncated && a.offset == b.offset;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

const std::string& extract_dir() {
  static const std::string dir = [] {
    char tmpl[] = "/tmp/fuzz-netrecord.XXXXXX";
    const char* p = mkdtemp(tmpl);
    FUZZ_CHECK(p != nullptr, "mkdtemp");
    return std::string(p);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 256 * 1024) return -1;
  const std::string input(reinterpret_cast<const char*>(data), size);
  NetrecordReader from_string;
  from_string.open_string(input);
  const Read s = read_all(from_string);

  uint64_t last = 0;
  std::string streams[2];
  for (size_t i = 0; i < s.records.size(); ++i) {
    const NetrecordRecord& r = s.records[i];
    FUZZ_CHECK(i == 0 || r.offset > last, "record %zu at %llu, not after %llu", i,
               static_cast<unsigned long long>(r.offset), static_cast<unsigned long long>(last));
    last = r.offset;
    FUZZ_CHECK(r.offset < size && input[r.offset] == r.side && (r.side == 'c' || r.side == 's'),
               "record %zu does not start with its side", i);
    const size_t nl = input.find('\n', r.offset);
    FUZZ_CHECK(nl != std::string::npos, "record %zu has no header line", i);
    if (r.kind != NetrecordRecord::Kind::kData) {
      FUZZ_CHECK(r.data.empty(), "data in a %s record", to_string(r.kind));
      continue;
    }
    FUZZ_CHECK(input.compare(nl + 1, r.data.size(), r.data) == 0 && nl + 1 + r.data.size() <= size,
               "record %zu's bytes are not the input's", i);
    FUZZ_CHECK(r.truncated ? r.data.size() < r.declared && i + 1 == s.records.size() &&
                                 s.mid_record
                           : r.data.size() == r.declared,
               "record %zu: %zu of %llu bytes, truncated %d", i, r.data.size(),
               static_cast<unsigned long long>(r.declared), r.truncated);
    streams[r.side == 'c' ? 0 : 1] += r.data;
  }

  // The same log as a file.
  const int fd = memfd_create("fuzz.log", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0 && write(fd, data, size) == static_cast<ssize_t>(size), "memfd");
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  NetrecordReader from_file;
  FUZZ_CHECK(from_file.open(path), "open %s: %s", path.c_str(), from_file.error().c_str());
  const Read f = read_all(from_file);
  FUZZ_CHECK(f.end == s.end && f.mid_record == s.mid_record &&
                 f.records.size() == s.records.size(),
             "file and string differ: %zu/%zu records, end %d/%d", f.records.size(),
             s.records.size(), static_cast<int>(f.end), static_cast<int>(s.end));
  for (size_t i = 0; i < f.records.size(); ++i) {
    FUZZ_CHECK(same(f.records[i], s.records[i]), "record %zu differs from file and string", i);
  }

  std::ostringstream out, err;
  const int rc = run_inspect({path}, extract_dir(), out, err);
  const bool whole = s.end == NetrecordReader::Status::kEnd && !s.mid_record;
  // An empty log is reported as damaged too (nothing was recorded).
  const bool con_first = !s.records.empty() &&
                         (s.records[0].kind == NetrecordRecord::Kind::kConnect &&
                          s.records[0].side == 'c');
  FUZZ_CHECK(rc == (whole && con_first ? 0 : 2), "--inspect exits %d (whole %d): %s", rc, whole,
             out.str().c_str());
  const std::string base = extract_dir() + "/" + std::to_string(fd);
  FUZZ_CHECK(slurp(base + ".c") == streams[0] && slurp(base + ".s") == streams[1],
             "the extracted streams are not the data records");

  // Loaded with the data (--replace), and as replay loads it by default:
  // sizes and record offsets, the bytes left in the log.
  for (const bool keep : {true, false}) {
    Conversation conv;
    std::string error;
    if (!load_netrecord_conversation(path, conv, error, keep, keep)) {
      FUZZ_CHECK(!error.empty(), "the loader failed without a message");
      continue;
    }
    size_t e = 0;
    for (const NetrecordRecord& r : s.records) {
      if (r.kind == NetrecordRecord::Kind::kConnect ||
          (r.kind == NetrecordRecord::Kind::kData && r.data.empty())) {
        continue;
      }
      FUZZ_CHECK(e < conv.events.size() && conv.events[e].side == r.side &&
                     conv.events[e].micros == r.micros,
                 "conversation event %zu is not the record", e);
      const ConvEvent& ev = conv.events[e];
      if (keep) {
        FUZZ_CHECK(ev.data == r.data && ev.left_out == 0, "event %zu: not the record's bytes", e);
      } else if (r.kind == NetrecordRecord::Kind::kData) {
        FUZZ_CHECK(ev.data.empty() && ev.left_out == r.data.size() && ev.log_offset == r.offset,
                   "event %zu: not the record's size and offset", e);
      }
      ++e;
    }
    FUZZ_CHECK(e == conv.events.size(), "%zu events for %zu records", conv.events.size(), e);
  }
  close(fd);
  return 0;
}
