#include "stats_panel.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "json_text.h"

namespace tcpscribe {
namespace {

constexpr const char* kBold = "\033[1m";
constexpr const char* kInverse = "\033[7m";
constexpr const char* kDim = "\033[2m";
constexpr const char* kReset = "\033[0m";

double seconds_between(Timestamp from, Timestamp to) {
  return static_cast<double>(to - from) / 1e9;
}

std::string fit(std::string s, size_t cols) {
  if (s.size() > cols) s.resize(cols);
  return s;
}

std::string paint(const std::string& s, const char* sgr, bool color) {
  if (!color || s.empty()) return s;
  return sgr + s + kReset;
}

std::string sid_text(uint64_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04llu", static_cast<unsigned long long>(id));
  return buf;
}

std::string rate_text(double r) { return stats_bytes_text(std::round(r)) + "/s"; }

// The client column: its width, addresses longer than it cut at the end.
constexpr size_t kClientWidth = 24;

std::string row_line(const StatsRow& r) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%6s %-*.*s %8s %8s %9s %8s %9s  %s",
                sid_text(r.session.id).c_str(), static_cast<int>(kClientWidth),
                static_cast<int>(kClientWidth), r.session.client.c_str(),
                stats_age_text(r.age).c_str(), stats_bytes_text(static_cast<double>(r.session.bytes[0])).c_str(),
                rate_text(r.rate[0]).c_str(), stats_bytes_text(static_cast<double>(r.session.bytes[1])).c_str(),
                rate_text(r.rate[1]).c_str(), r.session.state.c_str());
  return buf;
}

std::string closed_line(const StatsClosed& c, Timestamp now) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "closed %s %s after %s: C->S %s, S->C %s (%s), %s ago",
                sid_text(c.id).c_str(), c.client.c_str(),
                stats_age_text(seconds_between(c.opened, c.closed)).c_str(),
                stats_bytes_text(static_cast<double>(c.bytes[0])).c_str(),
                stats_bytes_text(static_cast<double>(c.bytes[1])).c_str(), c.reason.c_str(),
                stats_age_text(std::max(0.0, seconds_between(c.closed, now))).c_str());
  return buf;
}

void append_number(std::string& out, const char* key, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%s\":%.3f", key, v);
  out += buf;
}

void append_string(std::string& out, const char* key, const std::string& v) {
  append_json_key(out, key);
  append_json_string(out, v);
}

}  // namespace

void StatsBoard::closed(StatsClosed c) {
  ++closed_count_;
  closed_bytes_[0] += c.bytes[0];
  closed_bytes_[1] += c.bytes[1];
  seen_.erase(c.id);
  recent_.push_front(c);
  if (recent_.size() > kRecentClosed) recent_.pop_back();
  closed_now_.push_back(std::move(c));
}

StatsSnapshot StatsBoard::sample(Timestamp now, std::vector<StatsOpen> open) {
  StatsSnapshot s;
  s.now = now;
  s.uptime = seconds_between(start_, now);
  s.open = open.size();
  s.closed = closed_count_;
  s.bytes[0] = closed_bytes_[0];
  s.bytes[1] = closed_bytes_[1];
  std::sort(open.begin(), open.end(),
            [](const StatsOpen& a, const StatsOpen& b) { return a.id < b.id; });
  std::unordered_map<uint64_t, Seen> seen;
  seen.reserve(open.size());
  for (StatsOpen& o : open) {
    StatsRow r;
    r.age = std::max(0.0, seconds_between(o.opened, now));
    // Since the previous sample, or since it opened if that was later.
    auto it = seen_.find(o.id);
    const Timestamp from = it != seen_.end() ? last_ : std::max(o.opened, last_);
    const double dt = seconds_between(from, now);
    for (int d = 0; d < 2; ++d) {
      const uint64_t before = it != seen_.end() ? it->second.bytes[d] : 0;
      const uint64_t moved = o.bytes[d] >= before ? o.bytes[d] - before : 0;
      r.rate[d] = dt > 0 ? static_cast<double>(moved) / dt : 0;
      s.bytes[d] += o.bytes[d];
    }
    seen[o.id] = Seen{{o.bytes[0], o.bytes[1]}};
    r.session = std::move(o);
    s.rows.push_back(std::move(r));
  }
  const double dt = seconds_between(last_, now);
  for (int d = 0; d < 2; ++d) {
    s.rate[d] = dt > 0 ? static_cast<double>(s.bytes[d] - std::min(s.bytes[d], last_total_[d])) / dt : 0;
    last_total_[d] = s.bytes[d];
  }
  s.recent.assign(recent_.begin(), recent_.end());
  s.closed_now.swap(closed_now_);
  seen_.swap(seen);
  last_ = now;
  return s;
}

std::string stats_state(const bool ended[2], const bool reset[2]) {
  if (ended[0] && ended[1]) return reset[0] || reset[1] ? "rst both" : "fin both";
  for (int d = 0; d < 2; ++d) {
    if (ended[d]) return std::string(reset[d] ? "rst " : "fin ") + (d == 0 ? "C->S" : "S->C");
  }
  return "open";
}

std::string stats_bytes_text(double n) {
  char buf[32];
  if (n < 100000) {
    std::snprintf(buf, sizeof buf, "%.0f", n);
    return buf;
  }
  static const char kUnits[] = "kMGTPE";
  double v = n / 1000;
  size_t unit = 0;
  while (v >= 999.95 && unit + 1 < sizeof kUnits - 1) {
    v /= 1000;
    ++unit;
  }
  std::snprintf(buf, sizeof buf, "%.1f%c", v, kUnits[unit]);
  return buf;
}

std::string stats_age_text(double seconds) {
  char buf[32];
  if (seconds < 59.95) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    const long s = std::lround(std::floor(seconds));
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    const long m = std::lround(std::floor(seconds / 60));
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", m / 60, m % 60);
  }
  return buf;
}

std::vector<std::string> render_stats_panel(const StatsSnapshot& s, const std::string& title,
                                            size_t rows, size_t cols, bool color) {
  std::vector<std::string> out;
  if (rows == 0) return out;
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "%s  up %s  open %llu, closed %llu  C->S %s (%s)  S->C %s (%s)",
                title.c_str(), stats_age_text(s.uptime).c_str(),
                static_cast<unsigned long long>(s.open), static_cast<unsigned long long>(s.closed),
                stats_bytes_text(static_cast<double>(s.bytes[0])).c_str(), rate_text(s.rate[0]).c_str(),
                stats_bytes_text(static_cast<double>(s.bytes[1])).c_str(), rate_text(s.rate[1]).c_str());
  std::vector<std::string> body;  // plain text, painted below
  std::vector<const char*> sgr;
  body.push_back(buf);
  sgr.push_back(kBold);
  for (const StatsClosed& c : s.recent) {
    body.push_back(closed_line(c, s.now));
    sgr.push_back(kDim);
  }
  std::snprintf(buf, sizeof buf, "%6s %-*s %8s %8s %9s %8s %9s  %s", "SID",
                static_cast<int>(kClientWidth), "CLIENT", "AGE", "C->S", "C->S/s", "S->C",
                "S->C/s", "STATE");
  body.push_back(buf);
  sgr.push_back(kInverse);
  // Room for session rows: all but the rule at the bottom.
  const size_t room = rows - 1 > body.size() ? rows - 1 - body.size() : 0;
  const size_t n = s.rows.size();
  const size_t shown = n <= room ? n : (room > 0 ? room - 1 : 0);
  for (size_t i = 0; i < shown; ++i) {
    body.push_back(row_line(s.rows[i]));
    sgr.push_back(nullptr);
  }
  if (shown < n && room > 0) {
    body.push_back("+" + std::to_string(n - shown) + " more");
    sgr.push_back(nullptr);
  }
  // A panel too short for its heads keeps the first lines (the totals).
  if (body.size() > rows - 1) {
    body.resize(rows - 1);
    sgr.resize(rows - 1);
  }
  for (size_t i = 0; i < body.size(); ++i) {
    out.push_back(sgr[i] ? paint(fit(body[i], cols), sgr[i], color) : fit(body[i], cols));
  }
  while (out.size() < rows - 1) out.emplace_back();
  out.push_back(paint(std::string(cols, '-'), kDim, color));
  return out;
}

std::string stats_json_line(const StatsSnapshot& s) {
  std::string out = "{";
  append_number(out, "time", static_cast<double>(s.now) / 1e9);
  out += ',';
  append_number(out, "uptime", s.uptime);
  out += ',';
  append_json_uint(out, "open", s.open);
  out += ',';
  append_json_uint(out, "closed", s.closed);
  out += ',';
  append_json_uint(out, "c2s_bytes", s.bytes[0]);
  out += ',';
  append_json_uint(out, "s2c_bytes", s.bytes[1]);
  out += ',';
  append_number(out, "c2s_rate", s.rate[0]);
  out += ',';
  append_number(out, "s2c_rate", s.rate[1]);
  out += ",\"sessions\":[";
  for (size_t i = 0; i < s.rows.size(); ++i) {
    const StatsRow& r = s.rows[i];
    if (i > 0) out += ',';
    out += '{';
    append_json_uint(out, "id", r.session.id);
    out += ',';
    append_string(out, "client", r.session.client);
    out += ',';
    append_number(out, "age", r.age);
    out += ',';
    append_json_uint(out, "c2s_bytes", r.session.bytes[0]);
    out += ',';
    append_json_uint(out, "s2c_bytes", r.session.bytes[1]);
    out += ',';
    append_number(out, "c2s_rate", r.rate[0]);
    out += ',';
    append_number(out, "s2c_rate", r.rate[1]);
    out += ',';
    append_string(out, "state", r.session.state);
    out += '}';
  }
  out += "],\"closed_sessions\":[";
  for (size_t i = 0; i < s.closed_now.size(); ++i) {
    const StatsClosed& c = s.closed_now[i];
    if (i > 0) out += ',';
    out += '{';
    append_json_uint(out, "id", c.id);
    out += ',';
    append_string(out, "client", c.client);
    out += ',';
    append_number(out, "duration", seconds_between(c.opened, c.closed));
    out += ',';
    append_json_uint(out, "c2s_bytes", c.bytes[0]);
    out += ',';
    append_json_uint(out, "s2c_bytes", c.bytes[1]);
    out += ',';
    append_string(out, "reason", c.reason);
    out += '}';
  }
  out += "]}\n";
  return out;
}

}  // namespace tcpscribe
