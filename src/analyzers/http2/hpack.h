// HPACK header blocks of one direction (RFC 7541), decoded by libnghttp2's
// inflater while the dynamic table is known.
//
// The table is unknown when the direction was picked up midstream, after
// lost frame boundaries, or after a block the inflater rejected. Then each
// field is decoded on its own: static-table references and literals
// (Huffman or not) are read exactly, and what refers to the dynamic table
// becomes "(unknown)" - never a value from a table we only guess. A size
// update to 0 empties the table, which is then known again.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "http_parser.h"

struct nghttp2_hd_inflater;

namespace tcpscribe {

inline constexpr const char* kHpackUnknown = "(unknown)";

class HpackDecoder {
 public:
  HpackDecoder();
  ~HpackDecoder();
  HpackDecoder(const HpackDecoder&) = delete;
  HpackDecoder& operator=(const HpackDecoder&) = delete;

  /// The dynamic table is not known from here on.
  void forget() { known_ = false; }
  bool known() const { return known_; }
  /// The peer's SETTINGS_HEADER_TABLE_SIZE: the largest table the encoder
  /// may use.
  void set_max_table(uint32_t size);

  /// Decodes one whole header block. Returns false when fields are
  /// missing or unknown (`fields` then holds what could be read, unknown
  /// parts as kHpackUnknown).
  bool decode(std::span<const uint8_t> block, std::vector<HttpHeader>& fields);

 private:
  bool decode_known(std::span<const uint8_t> block, std::vector<HttpHeader>& fields);
  bool decode_alone(std::span<const uint8_t> block, std::vector<HttpHeader>& fields);
  /// One field as its own block through the pristine scratch inflater.
  bool decode_field(const std::vector<uint8_t>& mini, HttpHeader& out);

  nghttp2_hd_inflater* live_ = nullptr;
  nghttp2_hd_inflater* scratch_ = nullptr;  // only ever given fields that do not index
  bool known_ = true;
  uint32_t max_table_ = 4096;
};

}  // namespace tcpscribe
