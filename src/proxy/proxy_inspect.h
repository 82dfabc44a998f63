// `tcpscribe proxy --inspect LOG...`: reads netrecord logs with
// NetrecordReader, prints one summary line per log, and with --extract
// writes each side's byte stream (DIR/NAME.c, DIR/NAME.s), so a recording
// can be checked against what the programs really sent.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace tcpscribe {

/// Returns 0 if every log is whole, 2 if one is malformed, cut inside a
/// record or unreadable, 3 if an extracted stream cannot be written.
int run_inspect(const std::vector<std::string>& logs, const std::string& extract_dir,
                std::ostream& out, std::ostream& err);

}  // namespace tcpscribe
