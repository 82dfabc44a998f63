// The conversation on the console (tcpflow's -c, -C, -D, -B, -s).
//
// Each chunk is formatted completely and written with one call, so chunks
// of different flows never interleave. Unlike tcpflow, what is printed is
// the reassembled stream: ordered, without retransmitted copies, with a
// one-line marker where the capture has a hole. With -C -B -0 standard
// output is exactly the stream: a hole is zero bytes at its offset (as in
// the flow file), and its marker goes to standard error with the findings.
#pragma once

#include <cstdio>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "analyzer.h"
#include "findings_printer.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct ConsoleOptions {
  bool header = true;    ///< -C turns the "src-dst: " header off
  bool hex = false;      ///< -D
  bool binary = false;   ///< -B: bytes exactly as sent
  bool newline = true;   ///< -0 clears it: no newline after each chunk
  bool color = false;    ///< client->server blue, server->client red
  std::string name_template;  ///< the header's flow name
  bool flush_each = false;    ///< live capture: every chunk reaches the terminal at once
  bool findings = true;       ///< "!!" lines (-q turns them off)
  bool routine_findings = false;  ///< -v: "!!" lines for routine findings too
  /// Where gap markers and findings go when standard output must carry
  /// exactly the stream (-C -B -0).
  std::FILE* notes = stderr;
};

class ConsoleSink : public Sink {
 public:
  ConsoleSink(ConsoleOptions o, std::FILE* out);

  void on_open(const Connection&) override {}
  void on_data(const Connection& c, Dir d, uint64_t offset,
               std::span<const uint8_t> bytes, Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_finding(const Connection& c, const Finding& f) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  void set_told_elsewhere(FindingsPrinter::Filter f) { findings_.set_told_elsewhere(std::move(f)); }
  /// --decode: a message as its analyzer decoded it (message_view.h), in
  /// place of the raw chunks of its connection.
  void on_message(const Connection& c, const DecodedMessage& m);
  /// From now on connection `c` is shown through its inner stream (TLS's
  /// plaintext, AnalyzerOutput::inner_open): its wire bytes and gaps are
  /// no longer printed; inner_data and inner_gap print instead.
  void take_over(const Connection& c) { inner_.insert(c.id); }
  void inner_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
                  Timestamp ts);
  void inner_gap(const Connection& c, const char* layer, Dir d, uint64_t offset,
                 uint64_t length);

  /// Formats `bytes` like tcpflow -D: "0000: 504f 5354 ...  POST ..." with
  /// 32 bytes a line; `offset` numbers the first line. `color`: the
  /// direction's color, already in effect, for the bytes' classes
  /// (byte_colors.h); null: no colors.
  static void append_hex(std::string& out, std::span<const uint8_t> bytes,
                         uint64_t offset, const char* color = nullptr);
  /// The text view (no -B): printable bytes, CR, LF and TAB as they are,
  /// every other byte '.'; with `color`, each in its class's color.
  static void append_shown(std::string& out, std::span<const uint8_t> bytes,
                           const char* color);

  bool failed() const { return failed_; }
  std::string failure() const override;

 private:
  /// A write failed: remembers why (the first time) and stops writing.
  void fail();
  void begin(std::string& out, const Connection& c, Dir d) const;
  void end(std::string& out) const;
  void write(const std::string& s);
  void note(const std::string& s);
  /// -C -B -0: `length` zero bytes stand for a hole, as in the flow file.
  void write_zeros(uint64_t length);

  // "[reset]" and "[closed]" marker lines (see on_shutdown).
  bool end_markers() const { return opt_.newline; }
  void end_marker(const Connection& c, Dir d, const char* what);
  void mark_closed_peer(const Connection& c, Dir d);
  void mark_resets(const Connection& c);

  ConsoleOptions opt_;
  std::FILE* out_;
  FindingsPrinter findings_;
  /// -C -B -0: the output is the stream itself, byte for byte; what is
  /// not a byte of it (markers, findings) goes to opt_.notes.
  bool exact_ = false;
  bool failed_ = false;
  int errno_ = 0;  // of the first failed write
  /// Per connection with an ended direction: a FIN not marked yet, a
  /// reset already marked.
  struct Ends {
    bool fin_unmarked[2] = {false, false};
    bool reset_marked[2] = {false, false};
  };
  std::unordered_map<uint64_t, Ends> ends_;
  std::unordered_set<uint64_t> inner_;  // connections shown by their inner stream
  void show(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes);
};

}  // namespace tcpscribe
