#include "messages_writer.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "json_text.h"
#include "report_json.h"
#include "whole_lines.h"

namespace tcpscribe {

MessagesWriter::MessagesWriter(std::string path, bool flush_each)
    : path_(std::move(path)), flush_each_(flush_each) {}

MessagesWriter::~MessagesWriter() {
  if (owned_) std::fclose(out_);
}

void MessagesWriter::fail(int err) {
  if (!error_.empty()) return;
  error_ = "cannot write --messages " +
           (path_ == "-" ? std::string("to standard output") : path_) + ": " +
           std::strerror(err ? err : EIO);
  // The exchanges written before the failure stay a valid JSON Lines file.
  if (out_ && owned_) cut_to_whole_lines(out_);
}

bool MessagesWriter::open(std::string& error) {
  if (path_ == "-") {
    out_ = stdout;
  } else {
    out_ = open_lines_file(path_);
    owned_ = out_ != nullptr;
    if (!out_) {
      fail(errno);
      error = error_;
      return false;
    }
  }
  // `tail -f` and a reader at the other end of a pipe see each exchange as
  // it completes; a regular file lets stdio batch the writes.
  struct stat st {};
  if (::fstat(fileno(out_), &st) == 0 && !S_ISREG(st.st_mode)) flush_each_ = true;
  return true;
}

std::string MessagesWriter::format(const Connection& c, const ExchangeRecord& r) {
  std::string o = "{\"conn\":" + std::to_string(c.id) + ",\"proto\":";
  append_json_string(o, r.proto);
  o += ",\"ts\":" + json_seconds(r.ts);
  o += ",\"end\":" + json_seconds(r.end);
  o += ",\"latency\":";
  o += r.latency ? json_seconds(*r.latency) : std::string("null");
  o += ",\"error\":";
  o += r.error_json.empty() ? std::string("null") : r.error_json;
  for (const auto& [key, value] : r.fields) {
    o += ',';
    append_json_string(o, key);
    o += ':';
    // A value the analyzer left empty would make the line invalid JSON.
    o += value.empty() ? std::string("null") : value;
  }
  o += '}';
  return o;
}

void MessagesWriter::add(const Connection& c, const ExchangeRecord& r) {
  if (!out_ || !error_.empty()) return;
  std::string line = format(c, r);
  line += '\n';
  errno = 0;
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() ||
      (flush_each_ && std::fflush(out_) != 0)) {
    fail(errno);
  }
}

void MessagesWriter::finish() {
  if (!out_) return;
  errno = 0;
  if (std::fflush(out_) != 0) fail(errno);
  if (owned_) {
    errno = 0;
    if (std::fclose(out_) != 0) fail(errno);
    owned_ = false;
  }
  out_ = nullptr;
}

int MessagesWriter::fd() const { return out_ ? fileno(out_) : -1; }

}  // namespace tcpscribe
