// -X FILE: a DFXML report like tcpflow's report.xml, for the tools that
// read it: one <fileobject> per direction of each connection with the
// flow file's <filename> (only when the file exists, as tcpflow), its
// <filesize>, and a <tcpflow> element whose attributes keep tcpflow 1.6's
// names (startime, endtime, mac_daddr, mac_saddr, family, src_ipn, dst_ipn,
// srcport, dstport, packets, out_of_order_count, len, caplen). len is the
// direction's frame bytes on the wire, caplen (only when it differs) those
// captured; the MAC addresses are the first Ethernet frame's, and left out
// for other link types (tcpflow prints the bytes of a Linux cooked header
// as if they were an address).
#pragma once

#include <cstdio>
#include <string>
#include <unordered_map>

#include "atomic_file.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct DfxmlOptions {
  std::string outdir = ".";       ///< as FileSinkOptions::outdir
  std::string name_template;      ///< as FileSinkOptions::name_template
  std::string command_line;       ///< for <command_line>
  std::string version;            ///< for <version>
  bool flow_files = true;         ///< false: no flow files are written, so no <filename>
};

class DfxmlReportSink : public Sink, public SegmentObserver {
 public:
  /// Creates `path`.tmp and writes the header; on failure error() says
  /// why. finish() renames it to `path`, so a failed write leaves no cut
  /// or empty report under the name.
  DfxmlReportSink(const std::string& path, DfxmlOptions o);
  ~DfxmlReportSink() override;
  DfxmlReportSink(const DfxmlReportSink&) = delete;
  DfxmlReportSink& operator=(const DfxmlReportSink&) = delete;

  void on_open(const Connection&) override {}
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;
  /// Writes the summary and closes the document.
  void finish() override;
  /// Frame lengths and MAC addresses (the pipeline registers the sink as an
  /// observer of the flow table).
  void on_segment(const Connection& c, Dir d, const Segment& s) override;

  const std::string& error() const { return error_; }
  bool failed() const { return !error_.empty(); }
  std::string failure() const override { return error_; }
  /// The file the report goes to (for -U: its directory, its owner).
  AtomicFile& file() { return file_; }

 private:
  struct Files {
    bool exists[2] = {false, false};
    uint64_t size[2] = {0, 0};
    uint64_t len[2] = {0, 0};      // frame bytes on the wire
    uint64_t caplen[2] = {0, 0};   // frame bytes captured
    bool has_mac[2] = {false, false};
    uint8_t mac[2][12] = {};       // destination, then source
  };
  void write(const std::string& s);
  void fail(const char* what);
  std::string fileobject(const Connection& c, Dir d, const Files& f) const;

  std::string path_;
  DfxmlOptions opt_;
  AtomicFile file_;
  std::FILE* out_ = nullptr;
  std::string error_;
  std::unordered_map<uint64_t, Files> files_;
  uint64_t flows_ = 0;
  bool finished_ = false;
};

/// `s` escaped for XML text and attribute values.
std::string xml_escape(std::string_view s);
/// tcpflow's timestamp form: 2011-04-21T19:55:57.321807Z.
std::string dfxml_time(Timestamp t);

}  // namespace tcpscribe
