#include "stats_sink.h"

namespace tcpscribe {

StatsSink::Entry& StatsSink::entry(const Connection& c) {
  auto [it, added] = open_.try_emplace(c.id);
  if (added) {
    it->second.s.id = c.id;
    it->second.s.client = format_endpoint(c.client);
    it->second.s.opened = c.first_ts;
    it->second.s.state = "open";
  }
  return it->second;
}

void StatsSink::on_open(const Connection& c) { entry(c); }

void StatsSink::on_data(const Connection& c, Dir d, uint64_t, std::span<const uint8_t> bytes,
                        Timestamp) {
  entry(c).s.bytes[index_of(d)] += bytes.size();
}

void StatsSink::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp) {
  Entry& e = entry(c);
  e.ended[index_of(d)] = true;
  e.reset[index_of(d)] = reset;
  e.s.state = stats_state(e.ended, e.reset);
}

void StatsSink::on_close(const Connection& c, CloseReason why) {
  auto it = open_.find(c.id);
  if (it == open_.end()) return;
  StatsClosed done;
  done.id = c.id;
  done.client = std::move(it->second.s.client);
  done.opened = it->second.s.opened;
  done.closed = c.last_ts;
  done.bytes[0] = it->second.s.bytes[0];
  done.bytes[1] = it->second.s.bytes[1];
  done.reason = to_string(why);
  open_.erase(it);
  out_.closed(std::move(done));
}

std::vector<StatsOpen> StatsSink::open_sessions() const {
  std::vector<StatsOpen> v;
  v.reserve(open_.size());
  for (const auto& [id, e] : open_) v.push_back(e.s);
  return v;
}

}  // namespace tcpscribe
