#include "tls_resume.h"

namespace tcpscribe {
namespace {

std::string key_of(char kind, std::span<const uint8_t> k) {
  std::string s(1, kind);
  s.append(k.begin(), k.end());
  return s;
}

}  // namespace

void TlsResumptionCache::remember(char kind, std::span<const uint8_t> key,
                                  const TlsSecret& master) {
  if (key.empty() || key.size() > kMaxTicket || !master.known() || max_entries_ == 0) return;
  std::string k = key_of(kind, key);
  auto [it, added] = map_.insert_or_assign(k, master);
  (void)it;
  if (!added) return;
  order_.push_back(std::move(k));
  while (map_.size() > max_entries_) {
    map_.erase(order_.front());
    order_.pop_front();
    ++evicted_;
  }
}

const TlsSecret* TlsResumptionCache::find(char kind, std::span<const uint8_t> key) const {
  if (key.empty()) return nullptr;
  const auto it = map_.find(key_of(kind, key));
  return it == map_.end() ? nullptr : &it->second;
}

void TlsResumptionCache::remember_session_id(std::span<const uint8_t> id,
                                             const TlsSecret& master) {
  remember('s', id, master);
}
void TlsResumptionCache::remember_ticket(std::span<const uint8_t> ticket,
                                         const TlsSecret& master) {
  remember('t', ticket, master);
}
const TlsSecret* TlsResumptionCache::by_session_id(std::span<const uint8_t> id) const {
  return find('s', id);
}
const TlsSecret* TlsResumptionCache::by_ticket(std::span<const uint8_t> ticket) const {
  return find('t', ticket);
}

}  // namespace tcpscribe
