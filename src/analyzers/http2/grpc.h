// gRPC over HTTP/2: the length-prefixed messages of a stream's body, status
// names, and protobuf payloads decoded without a schema the way
// `protoc --decode_raw` prints them (field numbers, wire types, nested
// messages), bounded in depth and size.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tcpscribe {

/// "OK", "CANCELLED", ... "UNAUTHENTICATED" (codes 0-16), else "".
std::string grpc_status_name(int code);

struct ProtoRawLimits {
  int max_depth = 8;          ///< nested messages deeper than this are shown as bytes
  size_t max_lines = 200;     ///< lines past this are dropped ("..." last)
  size_t max_string = 200;    ///< shown bytes of one string field
};

/// `bytes` as protoc --decode_raw prints it, one line per field, nested
/// messages indented by two spaces: `1: 150`, `2: "text"`, `3 {` ... `}`,
/// `4: 0x00000001` (fixed32), `5: 0x0000000000000001` (fixed64). Empty
/// when `bytes` is not a protobuf message (then callers show the bytes).
std::vector<std::string> protobuf_decode_raw(std::span<const uint8_t> bytes,
                                             const ProtoRawLimits& limits = {});

/// One length-prefixed gRPC message.
struct GrpcMessage {
  bool compressed = false;
  uint32_t size = 0;              ///< as the prefix says
  std::string head;               ///< its first bytes (at most GrpcFramer::kKeep)
  bool whole = false;             ///< head is the whole message
};

/// Splits a stream's body (after HTTP content decoding) into gRPC's
/// length-prefixed messages: 1 byte compressed flag, 4 bytes big-endian
/// length, the message. Fed in pieces of any size; keeps at most kKeep
/// bytes of each message and at most kMaxMessages messages' details.
class GrpcFramer {
 public:
  static constexpr size_t kKeep = 64u << 10;
  static constexpr size_t kMaxMessages = 100;

  void feed(std::span<const uint8_t> bytes);
  /// Bytes were lost: framing stops (the messages so far are kept).
  void lose() { lost_ = true; }
  /// The messages that ended, in order (at most kMaxMessages).
  const std::vector<GrpcMessage>& messages() const { return done_; }
  uint64_t count() const { return count_; }   ///< all messages that ended
  /// The body ended inside a message (or its prefix).
  bool partial() const { return prefix_len_ > 0 || in_message_; }
  bool lost() const { return lost_; }

 private:
  uint8_t prefix_[5] = {};
  size_t prefix_len_ = 0;
  bool in_message_ = false;
  uint64_t left_ = 0;
  GrpcMessage cur_;
  std::vector<GrpcMessage> done_;
  uint64_t count_ = 0;
  bool lost_ = false;
};

/// `path` "/pkg.Service/Method" -> {"pkg.Service", "Method"}; {"", ""} if
/// it is not of that form.
std::pair<std::string, std::string> grpc_service_method(std::string_view path);

}  // namespace tcpscribe
