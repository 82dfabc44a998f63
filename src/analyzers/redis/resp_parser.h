// An incremental RESP2/RESP3 parser for one direction of a Redis
// connection (https://redis.io/docs/latest/develop/reference/protocol-spec/).
//
// Bytes are fed in any pieces; each complete top-level value is handed to
// the value callback, so the values (and the offsets and byte counts they
// carry) are the same whether the stream comes whole, in pieces or byte by
// byte. Memory is bounded: a value keeps at most kKeptBytes of each string
// and kKeptItems items of each aggregate (their full sizes are counted), and
// nesting deeper than kMaxDepth is a protocol error.
//
// The client side also takes inline commands (a line of words, what
// redis-server accepts from telnet). An attribute (RESP3 `|`) is not a
// value of its own: it is attached to the value that follows it.
//
// After a protocol error or a gap the parser stops: it cannot find the
// next value's start reliably (bulk payloads may contain anything).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

struct RespValue {
  /// The RESP type byte: + - : $ * _ , # ! = ( % ~ > ; 'i' for an inline command.
  char type = 0;
  bool null = false;          ///< $-1, *-1, _
  std::string text;           ///< the string (its first kKeptBytes bytes), or the line
  uint64_t size = 0;          ///< a string's full length; an aggregate's element count
  std::vector<RespValue> items;  ///< an aggregate's first kKeptItems elements (maps: k, v, k, v)
  std::shared_ptr<RespValue> attribute;  ///< the RESP3 attribute sent before it, if any

  bool is_error() const { return type == '-' || type == '!'; }
  bool is_aggregate() const {
    return type == '*' || type == '%' || type == '~' || type == '>' || type == '|' || type == 'i';
  }
  /// Elements the aggregate holds on the wire (maps and attributes: 2 per pair).
  uint64_t wire_items() const { return (type == '%' || type == '|') ? size * 2 : size; }
};

class RespParser {
 public:
  static constexpr size_t kKeptBytes = 512;
  static constexpr size_t kKeptItems = 128;
  static constexpr size_t kMaxDepth = 64;
  static constexpr size_t kMaxHeaderLine = 64;     ///< "$123\r\n", "*5\r\n"
  static constexpr size_t kMaxInlineLine = 64u << 10;  ///< redis-server's own cap

  /// A complete top-level value: its first byte's stream offset, its size
  /// on the wire, the packet times of its first and last byte.
  using ValueFn = std::function<void(RespValue&& v, uint64_t offset, uint64_t wire_bytes,
                                     Timestamp first_ts, Timestamp last_ts)>;
  /// The stream is not RESP from `offset` on (the parser stops).
  using ErrorFn = std::function<void(const std::string& why, uint64_t offset)>;

  RespParser(bool client_side, ValueFn on_value, ErrorFn on_error);

  /// Bytes from stream offset `offset` (contiguous with the previous feed).
  void feed(std::span<const uint8_t> bytes, uint64_t offset, Timestamp ts);
  /// The stream was picked up midstream: skip to the first '*' that
  /// starts a line (a command's array) before parsing.
  void seek_command() { state_ = State::kSeek; }
  /// Stops parsing (after a gap or an error); later feeds are ignored.
  void stop() { dead_ = true; }
  bool active() const { return !dead_; }
  /// A value is partly parsed.
  bool in_value() const { return !dead_ && (started_ || !stack_.empty()); }

 private:
  enum class State { kSeek, kType, kLine, kBulk, kBulkEnd };
  struct Frame {
    RespValue v;
    uint64_t remaining = 0;   ///< wire elements still to come
    std::shared_ptr<RespValue> next_attr;  ///< an attribute for the next element
  };

  void fail(const std::string& why);
  void fail(const std::string& why, uint64_t offset);
  /// A line (without its terminator) of the current value is complete.
  void end_line();
  /// `v` is complete: into its parent, or out as a top-level value.
  void complete(RespValue&& v);

  bool client_;
  ValueFn on_value_;
  ErrorFn on_error_;
  bool dead_ = false;
  State state_ = State::kType;
  char type_ = 0;
  std::string line_;            ///< the line so far (kept part)
  uint64_t line_len_ = 0;       ///< its full length
  bool line_cr_ = false;        ///< the last byte of the line was '\r'
  bool after_newline_ = true;   ///< kSeek: the byte before was '\n' (or none yet)
  RespValue bulk_;              ///< the bulk string being read
  uint64_t bulk_left_ = 0;
  int bulk_end_ = 0;            ///< bytes of the "\r\n" after a bulk seen
  std::vector<Frame> stack_;
  std::shared_ptr<RespValue> pending_attr_;  ///< top-level attribute waiting for its value
  size_t kept_ = 0;             ///< bytes of items kept in the current top-level value
  uint64_t at_ = 0;             ///< stream offset just past the byte being parsed
  bool started_ = false;
  uint64_t pos_ = 0;            ///< stream offset of the next byte
  uint64_t start_offset_ = 0;
  Timestamp start_ts_ = 0;
  Timestamp ts_ = 0;
};

/// Inline command words ("SET a b" -> SET, a, b), with redis-server's
/// quoting: "..." with \n \r \t \b \a \\ \" \xHH escapes, '...' with \'.
/// False: unbalanced quotes (redis-server answers an error).
bool split_inline_command(const std::string& line, std::vector<std::string>& words);

}  // namespace tcpscribe
