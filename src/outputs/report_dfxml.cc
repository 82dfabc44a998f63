#include "report_dfxml.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "name_template.h"
#include "tcpscribe/segment.h"

namespace tcpscribe {

std::string xml_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '\'': o += "&apos;"; break;
      case '"': o += "&quot;"; break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0.
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\t' && ch != '\n') {
          o += '?';
        } else {
          o += ch;
        }
    }
  }
  return o;
}

std::string dfxml_time(Timestamp t) {
  const auto [secs, ns] = split_time(t);
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(ns / 1000));
  return buf;
}

DfxmlReportSink::DfxmlReportSink(const std::string& path, DfxmlOptions o)
    : path_(path), opt_(std::move(o)) {
  if (!file_.open(path, error_)) return;
  out_ = file_.stream();
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char start[32];
  std::strftime(start, sizeof start, "%Y-%m-%dT%H:%M:%SZ", &tm);
  write(
      "<?xml version='1.0' encoding='UTF-8'?>\n"
      "<dfxml xmloutputversion='1.0'>\n"
      "  <metadata \n"
      "  xmlns='http://afflib.org/tcpflow/' \n"
      "  xmlns:xsi='http://www.w3.org/2001/XMLSchema-instance' \n"
      "  xmlns:dc='http://purl.org/dc/elements/1.1/'>\n"
      "    <dc:type>Feature Extraction</dc:type>\n"
      "  </metadata>\n"
      "  <creator version='1.0'>\n"
      "    <program>TCPSCRIBE</program>\n"
      "    <version>" + xml_escape(opt_.version) + "</version>\n"
      "    <execution_environment>\n"
      "      <command_line>" + xml_escape(opt_.command_line) + "</command_line>\n"
      "      <start_time>" + start + "</start_time>\n"
      "    </execution_environment>\n"
      "  </creator>\n"
      "  <configuration>\n");
}

DfxmlReportSink::~DfxmlReportSink() = default;

void DfxmlReportSink::fail(const char* what) {
  if (error_.empty()) error_ = std::string(what) + " " + path_ + ".tmp: " + std::strerror(errno);
}

void DfxmlReportSink::write(const std::string& s) {
  if (!out_ || failed()) return;
  if (std::fwrite(s.data(), 1, s.size(), out_) != s.size()) fail("cannot write");
}

void DfxmlReportSink::on_data(const Connection& c, Dir d, uint64_t offset,
                              std::span<const uint8_t> bytes, Timestamp) {
  Files& f = files_[c.id];
  const int i = index_of(d);
  f.exists[i] = true;
  f.size[i] = std::max(f.size[i], offset + bytes.size());
}

void DfxmlReportSink::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                             Timestamp) {
  // A hole is part of the file (zero-filled), exactly as FileSink writes it.
  Files& f = files_[c.id];
  const int i = index_of(d);
  f.exists[i] = true;
  f.size[i] = std::max(f.size[i], offset + length);
}

void DfxmlReportSink::on_segment(const Connection& c, Dir d, const Segment& s) {
  Files& f = files_[c.id];
  const int i = index_of(d);
  f.len[i] += s.frame_len;
  f.caplen[i] += s.frame_caplen;
  if (!f.has_mac[i] && s.mac) {
    std::memcpy(f.mac[i], s.mac, sizeof f.mac[i]);
    f.has_mac[i] = true;
  }
}

namespace {

std::string mac_text(const uint8_t* m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                m[5]);
  return buf;
}

}  // namespace

std::string DfxmlReportSink::fileobject(const Connection& c, Dir d, const Files& f) const {
  const int i = index_of(d);
  const DirectionStats& st = c.dir[i];
  const Endpoint& src = c.src(d);
  const Endpoint& dst = c.dst(d);
  std::string o = "    <fileobject>\n";
  if (f.exists[i] && opt_.flow_files) {
    o += "      <filename>" +
         xml_escape(opt_.outdir + "/" + expand_name(opt_.name_template, c, d)) +
         "</filename>\n";
  }
  o += "      <filesize>" + std::to_string(f.size[i]) + "</filesize>\n";
  o += "      <tcpflow startime='" + dfxml_time(st.first_ts) + "' endtime='" +
       dfxml_time(st.last_ts) + "' ";
  if (f.has_mac[i]) {
    o += "mac_daddr='" + mac_text(f.mac[i]) + "' mac_saddr='" + mac_text(f.mac[i] + 6) + "' ";
  }
  o += std::string("family='") + (src.addr.v6 ? "10" : "2") + "' src_ipn='" +
       xml_escape(format_addr(src.addr)) + "' dst_ipn='" + xml_escape(format_addr(dst.addr)) +
       "' srcport='" + std::to_string(src.port) + "' dstport='" + std::to_string(dst.port) +
       "' ";
  if (c.vlan[i] >= 0) o += "vlan='" + std::to_string(c.vlan[i]) + "' ";
  o += "packets='" + std::to_string(st.packets) + "' ";
  if (c.analysis.dir[i].out_of_order > 0) {
    o += "out_of_order_count='" + std::to_string(c.analysis.dir[i].out_of_order) + "' ";
  }
  o += "len='" + std::to_string(f.len[i]) + "' ";
  if (f.caplen[i] != f.len[i]) o += "caplen='" + std::to_string(f.caplen[i]) + "' ";
  o += "/>\n    </fileobject>\n";
  return o;
}

void DfxmlReportSink::on_close(const Connection& c, CloseReason) {
  Files f;
  if (auto it = files_.find(c.id); it != files_.end()) {
    f = it->second;
    files_.erase(it);
  }
  std::string o;
  for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
    // tcpflow has no flow object for a direction that sent nothing.
    if (c.dir[index_of(d)].packets == 0) continue;
    o += fileobject(c, d, f);
    ++flows_;
  }
  write(o);
  if (out_ && !failed() && std::fflush(out_) != 0) fail("cannot write");
}

void DfxmlReportSink::finish() {
  if (finished_) return;
  finished_ = true;
  write("  </configuration>\n  <total_flows>" + std::to_string(flows_) +
        "</total_flows>\n</dfxml>\n");
  if (!out_) return;
  out_ = nullptr;
  if (failed()) {
    file_.abandon();
    error_ += " (" + path_ + " is left as it was)";
    return;
  }
  file_.commit(error_);
}

}  // namespace tcpscribe
