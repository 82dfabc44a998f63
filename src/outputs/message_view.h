// --decode: the console's message view. Each message an analyzer decoded
// (a request or an answer) is one header line, then what the protocol
// shows, indented, then a blank line:
//
//   12:00:01.234567 127.000.000.001.54321-127.000.000.001.08000 [http] GET / HTTP/1.1
//       GET / HTTP/1.1
//       Host: localhost:8000
//
//   12:00:01.236012 127.000.000.001.08000-127.000.000.001.54321 [http] 200 OK (+1.445 ms)
//       ...
//
// Used by the passive console (-c --decode) and by the proxy.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "analyzer.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

struct MessageViewOptions {
  /// Client -> server blue, server -> client red (color.h), each line.
  bool color = false;
  /// The flow name of the header, as the console's header names flows
  /// (name_template.h); empty: tcpflow's default template.
  std::string name_template;
  /// At most this many of the message's lines, then "... N more lines";
  /// 0: all of them.
  size_t max_lines = 0;
};

/// One header line per message (UTC time of its first byte, the flow name
/// of its direction, [proto], the summary, and for answers the latency),
/// then each of m.lines indented by 4 spaces, then a blank line. Text from
/// the wire (summary, lines) goes through terminal_safe().
std::string format_message(const Connection& c, const DecodedMessage& m,
                           const MessageViewOptions& o);

/// `s` with every control character (C0, DEL, the C1 range U+0080-U+009F)
/// and every byte that is not UTF-8 shown as \xHH, so no escape sequence
/// from the wire reaches the terminal. Valid UTF-8 text is kept; a
/// backslash is kept as is (a preview the analyzer already escaped reads
/// the same).
std::string terminal_safe(std::string_view s);

/// "HH:MM:SS.uuuuuu", UTC, the microseconds truncated (as tcpdump).
std::string clock_time(Timestamp ts);

/// "1.445 ms" below a second (3 decimals of ms), else "1.234 s".
std::string latency_text(Timestamp latency);

}  // namespace tcpscribe
