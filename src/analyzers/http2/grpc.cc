#include "grpc.h"

#include <algorithm>
#include <cstdio>

namespace tcpscribe {
namespace {

bool read_varint(std::span<const uint8_t>& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (in.empty()) return false;
    const uint8_t b = in[0];
    in = in.subspan(1);
    v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

std::string escaped(std::span<const uint8_t> s, size_t max) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    const uint8_t c = s[i];
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '"': out += "\\\""; break;
      case '\'': out += "\\'"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\%03o", c);
          out += buf;
        }
    }
  }
  if (s.size() > max) out += "...";
  return out;
}

struct Decoder {
  const ProtoRawLimits& lim;
  std::vector<std::string> lines;
  bool cut = false;

  void put(int depth, std::string s) {
    if (lines.size() >= lim.max_lines) {
      cut = true;
      return;
    }
    lines.push_back(std::string(static_cast<size_t>(depth) * 2, ' ') + std::move(s));
  }

  /// Parses the fields of `in` (to its end, or to the end group of
  /// `group` when nonzero); false when it is not a message.
  static bool valid(std::span<const uint8_t>& in, uint64_t group, int depth, int max_depth) {
    while (!in.empty()) {
      uint64_t key;
      if (!read_varint(in, key)) return false;
      const uint64_t field = key >> 3;
      const unsigned wt = key & 7;
      if (field == 0 || field > 0x1fffffff) return false;
      uint64_t v;
      switch (wt) {
        case 0: if (!read_varint(in, v)) return false; break;
        case 1: if (in.size() < 8) return false; in = in.subspan(8); break;
        case 5: if (in.size() < 4) return false; in = in.subspan(4); break;
        case 2:
          if (!read_varint(in, v) || v > in.size()) return false;
          in = in.subspan(v);
          break;
        case 3:
          if (depth >= max_depth) return false;
          if (!valid(in, field, depth + 1, max_depth)) return false;
          break;
        case 4: return group == field;
        default: return false;
      }
    }
    return group == 0;
  }

  void fields(std::span<const uint8_t>& in, uint64_t group, int depth) {
    while (!in.empty() && !cut) {
      uint64_t key = 0, v = 0;
      read_varint(in, key);
      const uint64_t field = key >> 3;
      const std::string f = std::to_string(field);
      char buf[32];
      switch (key & 7) {
        case 0:
          read_varint(in, v);
          put(depth, f + ": " + std::to_string(v));
          break;
        case 1:
          v = 0;
          for (int i = 7; i >= 0; --i) v = v << 8 | in[static_cast<size_t>(i)];
          in = in.subspan(8);
          std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
          put(depth, f + ": " + buf);
          break;
        case 5:
          v = 0;
          for (int i = 3; i >= 0; --i) v = v << 8 | in[static_cast<size_t>(i)];
          in = in.subspan(4);
          std::snprintf(buf, sizeof buf, "0x%08llx", static_cast<unsigned long long>(v));
          put(depth, f + ": " + buf);
          break;
        case 2: {
          read_varint(in, v);
          std::span<const uint8_t> sub = in.first(v);
          in = in.subspan(v);
          std::span<const uint8_t> probe = sub;
          if (!sub.empty() && depth + 1 <= lim.max_depth && valid(probe, 0, depth + 1, lim.max_depth)) {
            put(depth, f + " {");
            fields(sub, 0, depth + 1);
            put(depth, "}");
          } else {
            put(depth, f + ": \"" + escaped(sub, lim.max_string) + "\"");
          }
          break;
        }
        case 3:
          put(depth, f + " {");
          fields(in, field, depth + 1);
          put(depth, "}");
          break;
        case 4: return;  // the end of `group` (checked by valid())
      }
    }
    (void)group;
  }
};

}  // namespace

std::string grpc_status_name(int code) {
  static const char* const kNames[] = {
      "OK",          "CANCELLED",        "UNKNOWN",           "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED", "NOT_FOUND",  "ALREADY_EXISTS",    "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL",       "UNAVAILABLE",       "DATA_LOSS",
      "UNAUTHENTICATED"};
  if (code >= 0 && code <= 16) return kNames[code];
  return "";
}

std::vector<std::string> protobuf_decode_raw(std::span<const uint8_t> bytes,
                                             const ProtoRawLimits& limits) {
  std::span<const uint8_t> probe = bytes;
  if (!Decoder::valid(probe, 0, 0, limits.max_depth)) return {};
  Decoder d{limits, {}, false};
  std::span<const uint8_t> in = bytes;
  d.fields(in, 0, 0);
  if (d.cut) d.lines.push_back("...");
  return d.lines;
}

void GrpcFramer::feed(std::span<const uint8_t> bytes) {
  if (lost_) return;
  while (!bytes.empty()) {
    if (!in_message_) {
      const size_t n = std::min(bytes.size(), 5 - prefix_len_);
      std::copy_n(bytes.begin(), n, prefix_ + prefix_len_);
      prefix_len_ += n;
      bytes = bytes.subspan(n);
      if (prefix_len_ < 5) return;
      prefix_len_ = 0;
      cur_ = GrpcMessage();
      cur_.compressed = (prefix_[0] & 1) != 0;
      cur_.size = uint32_t{prefix_[1]} << 24 | uint32_t{prefix_[2]} << 16 |
                  uint32_t{prefix_[3]} << 8 | prefix_[4];
      left_ = cur_.size;
      in_message_ = true;
    }
    const size_t n = static_cast<size_t>(std::min<uint64_t>(bytes.size(), left_));
    if (cur_.head.size() < kKeep) {
      const size_t keep = std::min(n, kKeep - cur_.head.size());
      cur_.head.append(reinterpret_cast<const char*>(bytes.data()), keep);
    }
    bytes = bytes.subspan(n);
    left_ -= n;
    if (left_ == 0) {
      in_message_ = false;
      cur_.whole = cur_.head.size() == cur_.size;
      ++count_;
      if (done_.size() < kMaxMessages) done_.push_back(std::move(cur_));
      cur_ = GrpcMessage();
    }
  }
}

std::pair<std::string, std::string> grpc_service_method(std::string_view path) {
  if (path.size() < 4 || path[0] != '/') return {};
  const size_t slash = path.find('/', 1);
  if (slash == std::string_view::npos || slash == 1 || slash + 1 == path.size()) return {};
  if (path.find('/', slash + 1) != std::string_view::npos) return {};
  return {std::string(path.substr(1, slash - 1)), std::string(path.substr(slash + 1))};
}

}  // namespace tcpscribe
