#include "messages_writer.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>
#include <utility>

#include "json_flat.h"
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

void MessagesWriter::format_into(std::string& o, const Connection& c, const ExchangeRecord& r) {
  char num[24];
  o += "{\"conn\":";
  o.append(num, static_cast<size_t>(std::to_chars(num, num + sizeof num, c.id).ptr - num));
  o += ",\"proto\":";
  append_json_string(o, r.proto);
  o += ",\"ts\":";
  append_json_seconds(o, r.ts);
  o += ",\"end\":";
  append_json_seconds(o, r.end);
  o += ",\"latency\":";
  if (r.latency) {
    append_json_seconds(o, *r.latency);
  } else {
    o += "null";
  }
  o += ",\"error\":";
  o += r.error_json.empty() ? std::string_view("null") : std::string_view(r.error_json);
  for (const auto& [key, value] : r.fields) {
    o += ',';
    append_json_string(o, key);
    o += ':';
    // A value the analyzer left empty would make the line invalid JSON.
    o += value.empty() ? std::string_view("null") : std::string_view(value);
  }
  o += '}';
}

std::string MessagesWriter::format(const Connection& c, const ExchangeRecord& r) {
  std::string o;
  format_into(o, c, r);
  return o;
}

void MessagesWriter::add(const Connection& c, const ExchangeRecord& r) {
  if (!out_ || !error_.empty()) return;
  line_.clear();  // reused: no allocation per record
  format_into(line_, c, r);
  if (flat_) line_ = flatten_json_object(line_);
  line_ += '\n';
  errno = 0;
  if (std::fwrite(line_.data(), 1, line_.size(), out_) != line_.size() ||
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
