// The recorded conversations replay drives: per connection, what the client
// and the server sent, in the order it was delivered, with times.
//
// Two sources give the same model: netrecord logs (one file per
// connection, read as far as they go) and capture files (every
// reconstructed TCP connection that passes the BPF filter; the chunks are
// the reassembled in-order pieces, the times those of their packets).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tcpscribe {

struct ConvEvent {
  enum class Kind { kData, kHangup, kReset };
  char side = 'c';       ///< 'c' client, 's' server
  Kind kind = Kind::kData;
  int64_t micros = 0;    ///< recorder time (same clock for all conversations of one input)
  std::string data;      ///< kData only
  /// kData of a log whose bytes were left in it (`data` empty): the
  /// chunk's size, and its record's file offset, to read it again when it
  /// is needed (sent, or compared).
  uint64_t left_out = 0;
  uint64_t log_offset = 0;
  uint64_t size() const { return data.size() + left_out; }
};

struct Conversation {
  std::string name;      ///< the log's path, or "capture.pcap 1.2.3.4:5-6.7.8.9:80"
  int64_t start_us = 0;  ///< when it opened (con record / first packet)
  std::vector<ConvEvent> events;
  std::vector<std::string> warnings;  ///< why it is not the whole conversation
  /// A netrecord log whose data was left out (ConvEvent::left_out).
  std::string log_path;
};

/// Reads one netrecord log. A file that cannot be opened, is not a netrecord
/// log or holds no record fails with `error` set (one line). A log that ends
/// early, is damaged later, or records `err` gives what is there, with a
/// warning for the damage. Each side's data stays in the log (only sizes
/// and record offsets are kept, and the log's path) unless asked for: a
/// 1 GB download or upload is not loaded to be replayed. (--replace needs
/// the client's bytes: they are loaded then.)
bool load_netrecord_conversation(const std::string& path, Conversation& out,
                                 std::string& error, bool keep_server_data = false,
                                 bool keep_client_data = false);

/// Reads capture files (all of them, in order, as one capture: the clock of
/// the first packet is time zero) and returns every TCP connection that
/// the filter lets through. A client-side hole ends that client's
/// conversation there (its bytes cannot be invented); a server-side hole
/// counts as zero bytes, with a warning. Returns false with `error` for a
/// file that cannot be opened, a bad filter, or a damaged capture (one line).
bool load_capture_conversations(const std::vector<std::string>& files,
                                const std::string& filter,
                                std::vector<Conversation>& out, std::string& error);

}  // namespace tcpscribe
