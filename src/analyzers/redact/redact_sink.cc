#include "redact_sink.h"

namespace tcpscribe {

RedactSink::RedactSink(const RedactRules& rules, std::vector<Sink*> downstream)
    : rules_(rules), downstream_(std::move(downstream)) {}

StreamRedactor& RedactSink::redactor(const Connection& c, Dir d) {
  std::unique_ptr<StreamRedactor>& r = streams_[c.id].dir[index_of(d)];
  if (!r) r = std::make_unique<StreamRedactor>(rules_, d == Dir::kClientToServer);
  return *r;
}

void RedactSink::emit(const Connection& c, Dir d, uint64_t offset, Timestamp ts) {
  if (out_.empty()) return;
  for (Sink* s : downstream_) s->on_data(c, d, offset, out_, ts);
  if (view_) view_(c, d, out_, ts);
  out_.clear();
}

void RedactSink::flush(const Connection& c, Dir d, Timestamp ts) {
  auto it = streams_.find(c.id);
  if (it == streams_.end() || !it->second.dir[index_of(d)]) return;
  StreamRedactor& r = *it->second.dir[index_of(d)];
  const uint64_t at = r.released();
  r.finish(out_);
  emit(c, d, at, ts);
}

void RedactSink::flush_connection(const Connection& c, Timestamp ts) {
  flush(c, Dir::kClientToServer, ts);
  flush(c, Dir::kServerToClient, ts);
}

void RedactSink::on_open(const Connection& c) {
  streams_.erase(c.id);
  for (Sink* s : downstream_) s->on_open(c);
}

void RedactSink::on_data(const Connection& c, Dir d, uint64_t offset,
                         std::span<const uint8_t> bytes, Timestamp ts) {
  StreamRedactor& r = redactor(c, d);
  if (offset > r.released() + r.held()) {
    // The stream did not start at 0 (a connection picked up mid-way):
    // begin there.
    r.finish(out_);
    emit(c, d, r.released(), ts);
    r.skip(offset - (r.released() + r.held()));
  }
  const uint64_t at = r.released();
  const uint64_t forced = r.forced();
  r.feed(bytes, out_);
  forced_ += r.forced() - forced;
  emit(c, d, at, ts);
}

void RedactSink::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                        Timestamp ts) {
  StreamRedactor& r = redactor(c, d);
  flush(c, d, ts);
  r.skip(offset + length - r.released());
  for (Sink* s : downstream_) s->on_gap(c, d, offset, length, ts);
}

void RedactSink::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) {
  flush(c, d, ts);
  for (Sink* s : downstream_) s->on_shutdown(c, d, reset, ts);
}

void RedactSink::on_finding(const Connection& c, const Finding& f) {
  for (Sink* s : downstream_) s->on_finding(c, f);
}

void RedactSink::on_close(const Connection& c, CloseReason why) {
  flush(c, Dir::kClientToServer, c.last_ts);
  flush(c, Dir::kServerToClient, c.last_ts);
  streams_.erase(c.id);
  for (Sink* s : downstream_) s->on_close(c, why);
}

void RedactSink::finish() {
  for (Sink* s : downstream_) s->finish();
}

}  // namespace tcpscribe
