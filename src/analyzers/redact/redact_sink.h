// --redact at the stream level: a sink in front of all the others (the
// analyzers' dispatcher first, then every output) that hands them each
// direction's bytes blanked by a StreamRedactor. Offsets stay those of the
// stream (redaction keeps lengths); bytes a rule holds back (a possible
// match not yet complete) reach the outputs with a later event - the next
// data, or at the latest the direction's end, a gap, or the close - and
// carry that event's time.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "redact_rules.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

class RedactSink final : public Sink {
 public:
  RedactSink(const RedactRules& rules, std::vector<Sink*> downstream);

  void on_open(const Connection& c) override;
  void on_data(const Connection& c, Dir d, uint64_t offset, std::span<const uint8_t> bytes,
               Timestamp ts) override;
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override;
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override;
  void on_finding(const Connection& c, const Finding& f) override;
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;

  /// Also hands the blanked bytes to `view` (the proxy's console).
  using View = std::function<void(const Connection&, Dir, std::span<const uint8_t>, Timestamp)>;
  void set_view(View view) { view_ = std::move(view); }
  /// Releases what both directions hold (before an event that does not
  /// pass through here, such as the proxy's own close of a log).
  void flush_connection(const Connection& c, Timestamp ts);

  /// Possible matches that outgrew the guarantee and were blanked whole.
  uint64_t forced() const { return forced_; }

 private:
  struct Stream {
    std::unique_ptr<StreamRedactor> dir[2];
  };
  StreamRedactor& redactor(const Connection& c, Dir d);
  void flush(const Connection& c, Dir d, Timestamp ts);
  void emit(const Connection& c, Dir d, uint64_t offset, Timestamp ts);

  const RedactRules& rules_;
  std::vector<Sink*> downstream_;
  std::unordered_map<uint64_t, Stream> streams_;
  std::vector<uint8_t> out_;
  View view_;
  uint64_t forced_ = 0;
};

}  // namespace tcpscribe
