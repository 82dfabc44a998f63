// What the outputs learn about a proxied connection: the same open, data,
// shutdown and close events a capture gives them, with the Connection's
// times and statistics kept as a capture of the proxy -> upstream leg
// would show them (what a proxy cannot know, packets, retransmissions, the
// RTT, stays 0 / unknown).
#include "proxy_internal.h"

namespace tcpscribe {

const char* proxy_conn_state(const Connection& c, bool connected, bool refused) {
  if (!connected) return refused ? "REJ" : "S0";
  const DirectionStats& up = c.dir[0];    // the proxy's side of the upstream leg
  const DirectionStats& down = c.dir[1];  // the upstream's side
  if (up.rst) return "RSTO";
  if (down.rst) return "RSTR";
  if (up.fin && down.fin) return "SF";
  if (up.fin) return "S2";
  if (down.fin) return "S3";
  return "S1";
}

namespace proxy_detail {

void Proxy::emit_open(Session& s) {
  Connection& c = s.conn;
  c.first_ts = c.last_ts = wall(s.opened);
  c.handshake_seen = true;
  c.dir[0].syn = true;  // the client's handshake, accepted
  for (Sink* k : sinks_) k->on_open(c);
}

void Proxy::mark_connected(Session& s, Timestamp now) {
  // The proxy's own SYN to the upstream and its SYN-ACK: the handshake a
  // capture of the upstream leg shows (the HAR's connect time).
  s.conn.syn_ts = wall(s.syn_sent);
  s.conn.synack_ts = wall(now);
  s.conn.dir[1].syn = true;
}

void Proxy::count(Session& s, Dir d, size_t n, Timestamp now) {
  const Timestamp w = wall(now);
  DirectionStats& st = s.conn.dir[index_of(d)];
  if (st.first_ts == 0) st.first_ts = w;
  st.last_ts = w;
  st.payload_bytes += n;
  st.delivered_bytes += n;
  s.conn.last_ts = w;
}

void Proxy::emit_data(Session& s, Dir d, std::span<const uint8_t> chunk, Timestamp now) {
  count(s, d, chunk.size(), now);
  const uint64_t offset = s.pipe[index_of(d)].bytes;
  const Timestamp w = wall(now);
  for (Sink* k : sinks_) k->on_data(s.conn, d, offset, chunk, w);
  files_dirty_ = files_;
}

void Proxy::emit_data_from_pipe(Session& s, Dir d, int pipe_rd, size_t n, Timestamp now) {
  count(s, d, n, now);
  netrecord_->on_data_from_pipe(s.conn, d, pipe_rd, n, wall(now));
}

void Proxy::emit_shutdown(Session& s, Dir d, bool reset, Timestamp now) {
  DirectionStats& st = s.conn.dir[index_of(d)];
  (reset ? st.rst : st.fin) = true;
  s.conn.last_ts = wall(now);
  for (Sink* k : sinks_) k->on_shutdown(s.conn, d, reset, s.conn.last_ts);
}

void Proxy::emit_close(Session& s, CloseReason why, Timestamp now) {
  Connection& c = s.conn;
  c.last_ts = wall(now);
  // A close the proxy makes itself (idle timeout: FIN to both; drain
  // deadline or a second Ctrl-C: reset) ends every side still open; the
  // log says so (`hup` / `err` for that side, docs/NETRECORD.md), else
  // --inspect and replay would take those sides for still open.
  // --redact holds back possible matches: they go out before the log's
  // own shutdown lines below.
  if (redactor_) redactor_->flush_connection(c, c.last_ts);
  if (netrecord_ && (why == CloseReason::kIdle || why == CloseReason::kEndOfInput)) {
    for (Dir d : {Dir::kClientToServer, Dir::kServerToClient}) {
      const DirectionStats& st = c.dir[index_of(d)];
      if (st.fin || st.rst) continue;
      if (d == Dir::kServerToClient && !s.connected) continue;  // never opened
      netrecord_->on_shutdown(c, d, why != CloseReason::kIdle, c.last_ts);
    }
  }
  if (s.connected && why == CloseReason::kEndOfInput) {
    c.dir[0].rst = true;  // the drain deadline reset the upstream
  } else if (s.connected && why == CloseReason::kIdle) {
    c.dir[0].fin = true;  // the idle timeout closed it with a FIN
  }
  c.analysis.conn_state = proxy_conn_state(c, s.connected, s.refused);
  for (Sink* k : sinks_) k->on_close(c, why);
}

}  // namespace proxy_detail
}  // namespace tcpscribe
