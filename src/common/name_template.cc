#include "name_template.h"

#include <cstdio>
#include <cstring>
#include <ctime>

namespace tcpscribe {
namespace {

constexpr const char* kEscapes = "AaBbTtVvCc#NKMG%";

void append_padded(std::string& out, uint64_t v, int width) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v > 0);
  for (int i = n; i < width; ++i) out += '0';
  while (n > 0) out += buf[--n];
}

}  // namespace

bool apply_name_prefixes(const std::string& letters, std::string& tmpl,
                         std::string& error) {
  for (char ch : letters) {
    switch (ch) {
      case 'c': {
        // Every file gets its connection count, the first one included.
        const auto pos = tmpl.find("%C%c");
        if (pos != std::string::npos) tmpl.replace(pos, 4, "c%#");
        else tmpl += "c%#";
        break;
      }
      case 't': tmpl = "%tT" + tmpl; break;
      case 'T': tmpl = "%T" + tmpl; break;
      case 'k': tmpl = "%K/" + tmpl; break;
      case 'm': tmpl = "%M000-%M999/%M%K/" + tmpl; break;
      case 'g': tmpl = "%G000000-%G999999/%G%M000-%G%M999/%G%M%K/" + tmpl; break;
      case 'X': case 'M': break;
      default:
        error = std::string("-F: unknown letter '") + ch +
                "' (use c, t, T, X, k, m or g)";
        return false;
    }
  }
  return true;
}

bool validate_template(const std::string& tmpl, std::string& error) {
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '%') continue;
    if (i + 1 >= tmpl.size() || !std::strchr(kEscapes, tmpl[i + 1])) {
      error = "-T: unknown escape in template '" + tmpl + "' (known: %A %a %B %b %T %t %V %v %C %c %# %N %K %M %G %%)";
      return false;
    }
    ++i;
  }
  if (tmpl.empty()) {
    error = "-T: the template is empty";
    return false;
  }
  return true;
}

std::string expand_name(const std::string& tmpl, const Connection& c, Dir d) {
  std::string out;
  out.reserve(64);
  const Endpoint& src = c.src(d);
  const Endpoint& dst = c.dst(d);
  for (size_t i = 0; i < tmpl.size(); ++i) {
    if (tmpl[i] != '%' || i + 1 >= tmpl.size()) {
      out += tmpl[i];
      continue;
    }
    const char e = tmpl[++i];
    switch (e) {
      case 'A': out += format_addr_padded(src.addr); break;
      case 'a': append_padded(out, src.port, 5); break;
      case 'B': out += format_addr_padded(dst.addr); break;
      case 'b': append_padded(out, dst.port, 5); break;
      case 'T': {
        const time_t t = static_cast<time_t>(c.first_ts / kNanosPerSecond);
        struct tm tm;
        gmtime_r(&t, &tm);
        char buf[32];
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
        out += buf;
        break;
      }
      case 't': out += std::to_string(c.first_ts / kNanosPerSecond); break;
      case 'V': if (c.vlan[index_of(d)] >= 0) out += "--"; break;
      case 'v':
        if (c.vlan[index_of(d)] >= 0) out += std::to_string(c.vlan[index_of(d)]);
        break;
      case 'C': if (c.reuse_index > 0) out += 'c'; break;
      case 'c': if (c.reuse_index > 0) out += std::to_string(c.reuse_index); break;
      case '#': out += std::to_string(c.reuse_index); break;
      case 'N': append_padded(out, c.id % 1000, 3); break;
      case 'K': append_padded(out, c.id / 1000 % 1000, 3); break;
      case 'M': append_padded(out, c.id / 1000000 % 1000, 3); break;
      case 'G': append_padded(out, c.id / 1000000000 % 1000, 3); break;
      case '%': out += '%'; break;
      default: out += '%'; out += e; break;
    }
  }
  return out;
}

}  // namespace tcpscribe
