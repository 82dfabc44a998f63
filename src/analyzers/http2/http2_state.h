// The HTTP/2 analyzer's state (http2.cc, http2_side.cc). Internal.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "grpc.h"
#include "h2_frame.h"
#include "hpack.h"
#include "http2.h"
#include "http_body.h"
#include "http_decode.h"

namespace tcpscribe {

struct Http2Analyzer::Stream {
  uint32_t id = 0;
  HttpTransaction t;
  bool pushed = false;
  bool grpc = false;
  struct Half {
    bool headers = false;        // the final head was seen
    bool ended = false;          // END_STREAM (or the stream's end otherwise)
    bool after_end_told = false;
    bool shown = false;
    std::unique_ptr<ContentDecoder> decoder;
    bool decoding = false;
    bool write_decoded = false;
    bool text_ok = false;
    std::unique_ptr<BodyFile> file;
    GrpcFramer grpc;
    int64_t window = 65535;      // the sender's window on this stream
  } half[2];
  bool reset = false;
  Dir reset_by = Dir::kClientToServer;
  uint32_t reset_code = 0;
  bool grpc_status_seen = false;
  int grpc_status = 0;
  std::string grpc_message;

  HttpMessage& msg(Dir d) { return d == Dir::kClientToServer ? t.request : t.response; }
};

struct Http2Analyzer::Side final : H2FrameEvents {
  Side(Http2Analyzer& a, Conn& k, Dir d)
      : an(a), conn(k), dir(d), parser(d == Dir::kClientToServer, *this) {}

  void on_preface(uint64_t offset, Timestamp ts) override;
  void on_frame(const H2FrameHeader& h, std::span<const uint8_t> payload, Timestamp ts) override;
  void on_data_begin(const H2FrameHeader& h, Timestamp ts) override;
  void on_data(const H2FrameHeader& h, std::span<const uint8_t> bytes, Timestamp ts) override;
  void on_data_gap(const H2FrameHeader& h, uint64_t length, Timestamp ts) override;
  void on_data_end(const H2FrameHeader& h, Timestamp ts) override;
  void on_bad_frame(const H2FrameHeader& h, const std::string& what, Timestamp ts) override;
  void on_sync(uint64_t offset, bool found, const std::string& why, Timestamp ts) override;

  /// The stream a DATA/HEADERS frame of this side is for, or null when it
  /// is closed (told once as a finding).
  Stream* open_stream(const H2FrameHeader& h, Timestamp ts);
  void control(const H2FrameHeader& h, std::span<const uint8_t> p, Timestamp ts);
  const char* who() const { return dir == Dir::kClientToServer ? "client" : "server"; }
  uint64_t at(uint64_t offset) const { return offset + base; }

  Http2Analyzer& an;
  Conn& conn;
  Dir dir;
  H2FrameParser parser;
  HpackDecoder hpack;
  uint64_t base = 0;             // stream offset where HTTP/2 starts (h2c upgrade)
  bool ended = false;
  bool lost = false;             // frame boundaries were lost at least once
  // The header block being gathered (HEADERS/PUSH_PROMISE + CONTINUATION).
  bool in_block = false;
  uint32_t block_stream = 0;
  uint32_t promised = 0;
  bool block_promise = false;
  bool block_end_stream = false;
  bool block_too_big = false;
  std::vector<uint8_t> block;
  uint64_t block_offset = 0;
  uint64_t block_wire = 0;       // frame bytes of the block, headers included
  Timestamp block_ts = 0;
  // Flow control, this side as the sender.
  int64_t conn_window = 65535;
  int64_t initial_window = 65535;  // announced by the peer for this side's streams
  uint64_t settings = 0;
};

struct Http2Analyzer::Conn {
  Connection info;
  std::unique_ptr<Side> side[2];
  std::map<uint32_t, Stream> streams;  // open, undelivered
  // Streams delivered lately: id -> bit 0/1: that direction ended it with
  // END_STREAM (a later DATA/HEADERS is a finding), bit 2: reset.
  std::map<uint32_t, uint8_t> closed;
  // The highest stream id opened so far, per initiator: client streams
  // are odd, pushed (server) streams even, each rising on its own
  // (RFC 9113 5.1.1).
  uint32_t highest_ids[2] = {0, 0};
  uint32_t& highest(uint32_t id) { return highest_ids[id % 2 == 0 ? 1 : 0]; }
  uint32_t count = 0;
  uint64_t told_closed = 0;        // frames on closed streams, told once each up to a cap
  bool windows_known = true;
  bool active = true;              // false: waiting for an h2c upgrade to finish
  CloseReason why = CloseReason::kEndOfInput;
};

}  // namespace tcpscribe
