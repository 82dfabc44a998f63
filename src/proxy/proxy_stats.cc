// --stats and --stats-json in the proxy: the sessions' counters sampled by
// the event loop (stats_output.h), the panel's frames written by a thread
// of their own so that a paused terminal never holds up forwarding.
#include <unistd.h>

#include "proxy_internal.h"

namespace tcpscribe::proxy_detail {

int Proxy::open_stats() {
  if (!opt_.stats && opt_.stats_json.empty()) return kExitOk;
  StatsOutputOptions o;
  o.panel = opt_.stats;
  o.json_path = opt_.stats_json;
  o.interval = opt_.stats_interval;
  o.color = opt_.color;
  o.title = "tcpscribe proxy " + listen_name_ + " -> " + opt_.forward.host + ":" +
            std::to_string(opt_.forward.port);
  o.log_on_stdout = console_.enabled();
  stats_ = std::make_unique<StatsOutput>(std::move(o), wall(start_));
  if (opt_.stats) {
    // Frames only: a frame that cannot be written in time is dropped, the
    // next one draws the whole panel again.
    stats_writer_ = std::make_unique<ConsoleWriter>(
        STDERR_FILENO, 1u << 20, [](uint64_t, uint64_t) { return std::string(); });
    stats_->set_frame_writer([w = stats_writer_.get()](std::string f) { w->push(std::move(f)); });
  }
  if (const int rc = stats_->open(); rc != kExitOk) return rc;
  next_stats_ = monotonic_ns() + static_cast<Timestamp>(opt_.stats_interval * 1e9);
  return kExitOk;
}

std::vector<StatsOpen> Proxy::stats_sessions() const {
  std::vector<StatsOpen> v;
  v.reserve(sessions_.size());
  for (const auto& [sid, s] : sessions_) {
    StatsOpen o;
    o.id = sid;
    o.client = s->client_name;
    o.opened = wall(s->opened);
    o.bytes[0] = s->pipe[0].bytes;
    o.bytes[1] = s->pipe[1].bytes;
    if (!s->connected) {
      o.state = "connecting";
    } else {
      bool ended[2], reset[2];
      for (int d = 0; d < 2; ++d) {
        ended[d] = s->conn.dir[d].fin || s->conn.dir[d].rst;
        reset[d] = s->conn.dir[d].rst;
      }
      o.state = stats_state(ended, reset);
    }
    v.push_back(std::move(o));
  }
  return v;
}

Timestamp Proxy::tick_stats(Timestamp now) {
  if (!stats_) return 0;
  if (now >= next_stats_) {
    stats_->sample(wall(now), stats_sessions());
    const Timestamp step = static_cast<Timestamp>(opt_.stats_interval * 1e9);
    next_stats_ += step;
    if (next_stats_ <= now) next_stats_ = now + step;  // the loop was held up
  }
  return next_stats_;
}

void Proxy::stats_closed(const Session& s, const char* reason, Timestamp now) {
  if (!stats_) return;
  StatsClosed c;
  c.id = s.sid;
  c.client = s.client_name;
  c.opened = wall(s.opened);
  c.closed = wall(now);
  c.bytes[0] = s.pipe[0].bytes;
  c.bytes[1] = s.pipe[1].bytes;
  c.reason = reason;
  stats_->closed(std::move(c));
}

int Proxy::finish_stats() {
  if (!stats_) return kExitOk;
  stats_->finish(wall(monotonic_ns()), stats_sessions());
  if (stats_writer_) stats_writer_->finish(1.0);
  stats_->restore_terminal();
  return stats_->failure().empty() ? kExitOk : kExitOutput;
}

}  // namespace tcpscribe::proxy_detail
