// The proxy's live view: one line per connection event and per chunk,
// tagged with the session id, the chunk as text or a hexdump -C style dump,
// or one JSON object per event (--json).
//
// Every event is formatted completely into one record and handed to a
// ConsoleWriter (console_writer.h): a thread of its own writes the records
// in order, so a chunk's record is never interleaved with another
// session's, and a console nobody reads never blocks forwarding (records
// past its budget are dropped, counted and announced).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "analyzer.h"
#include "console_writer.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct ProxyConsoleOptions {
  bool hex = false;                ///< hexdump -C style instead of text
  bool dump = true;                ///< show the bytes of each chunk
  uint64_t max_dump = UINT64_MAX;  ///< bytes shown per chunk
  bool json = false;
  bool color = false;
  /// Text view: each event line starts with its time (0 none, 1 relative
  /// "+1.234567 ", 2 absolute local "13:40:01.123456 ").
  int timestamps = 0;
};

/// "[sid=0001]": how the console and stderr name a session.
std::string sid_tag(uint64_t sid);

class ProxyConsole {
 public:
  /// Writes to `fd` (through a ConsoleWriter holding up to `budget` bytes
  /// of records); -1 turns the view off.
  ProxyConsole(ProxyConsoleOptions o, int fd, size_t budget = ConsoleWriter::kDefaultBudget);

  /// Writes what is queued (waiting up to `seconds`) and stops the view.
  /// Returns the records never shown (dropped while the reader was behind,
  /// or still queued at the end).
  uint64_t finish(double seconds);
  uint64_t bytes_lost() const { return writer_ ? writer_->bytes_lost() : 0; }

  /// The wall-clock time (ns since the epoch) of t = 0, for absolute
  /// timestamps and for decoded messages' times.
  void set_start(int64_t wall_ns) { wall_start_ns_ = wall_ns; }

  /// Tests: collect the output in `s` instead of writing it.
  void capture_to(std::string* s) { capture_ = s; }
  bool enabled() const { return (writer_ && !writer_->broken()) || capture_ != nullptr; }

  /// Times are seconds since the proxy started.
  void open(uint64_t sid, double t, const std::string& client, const std::string& upstream,
            const std::string* log);
  /// `local` is the proxy's end of the upstream connection.
  void connected(uint64_t sid, double t, const std::string& upstream, const std::string& local);
  void data(uint64_t sid, double t, Dir d, std::span<const uint8_t> bytes) {
    chunk(sid, t, d, bytes.size(), bytes);
  }
  /// Whether data() shows the bytes; if not, the proxy may forward chunks
  /// without reading them into memory and report them with data_size().
  bool needs_bytes() const { return enabled() && opt_.dump && opt_.max_dump > 0; }
  /// A chunk of `n` bytes whose contents are not shown (!needs_bytes()).
  void data_size(uint64_t sid, double t, Dir d, size_t n) { chunk(sid, t, d, n, {}); }
  /// --decode: a request or an answer an analyzer decoded, shown instead
  /// of the chunks that carried it: "[sid=0001] C->S [http] GET / HTTP/1.1",
  /// " (+1.445 ms)" for answers, then its lines indented by 4 spaces.
  void message(uint64_t sid, const DecodedMessage& m);
  /// A side closed (FIN) or failed (`error` non-empty).
  void shutdown(uint64_t sid, double t, Dir d, const std::string& error);
  void closed(uint64_t sid, double t, const char* reason, uint64_t c2s, uint64_t s2c,
              double duration);
  /// Something the proxy did or noticed (idle timeout, connect failure).
  void note(uint64_t sid, double t, const char* event, const std::string& text);
  /// Not about one session (listening, shutting down).
  void notice(double t, const char* event, const std::string& text);

  /// `hexdump -C -v` of `bytes`, offsets from 0, with the final offset line.
  static void append_hexdump(std::string& out, std::span<const uint8_t> bytes);
  /// `hexdump -C -v` with every line after `prefix` (the session's tag).
  /// `color`: the direction's color, already in effect, for the bytes'
  /// classes (byte_colors.h); null: no colors.
  static void append_hexdump(std::string& out, std::span<const uint8_t> bytes,
                             std::string_view prefix, const char* color = nullptr);
  /// The text view, unambiguous: printable ASCII as is, a backslash as
  /// "\\", CR, TAB and LF as "\r", "\t" and "\n" (the LF then breaks the
  /// line), valid UTF-8 as is (but C1 controls), every other byte "\xHH".
  /// `color` as for append_hexdump(): escapes of control bytes, and bytes
  /// >= 0x80 (as UTF-8 or escaped), in their classes' colors.
  static void append_text(std::string& out, std::span<const uint8_t> bytes,
                          const char* color = nullptr);
  /// A JSON string literal; bytes >= 0x80 become \u0080..\u00ff (Latin-1),
  /// so the exact bytes can be recovered.
  static void append_json_string(std::string& out, std::span<const uint8_t> bytes);

 private:
  /// A chunk of `total` bytes, of which `bytes` (its start) may be shown.
  void chunk(uint64_t sid, double t, Dir d, size_t total, std::span<const uint8_t> bytes);
  std::string tag(uint64_t sid) const;
  std::string stamp(double t) const;  ///< the --timestamps prefix, or ""
  void json_head(std::string& out, double t, uint64_t sid, const char* event) const;
  void emit(const std::string& s);

  ProxyConsoleOptions opt_;
  int fd_;
  std::unique_ptr<ConsoleWriter> writer_;
  int64_t wall_start_ns_ = 0;
  std::string* capture_ = nullptr;
};

}  // namespace tcpscribe
