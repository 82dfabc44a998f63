// A file of lines (JSON Lines) whose write failed half-way (a full disk)
// is cut back to its last complete line, so that every line a reader sees
// is whole and what was written before the failure stays valid.
#pragma once

#include <cstdio>
#include <string>

namespace tcpscribe {

/// Opens `path` for writing, truncated, as fopen(path, "w") does, but also
/// for reading when it is (or becomes) a regular file, so that
/// cut_to_whole_lines can read it back. A FIFO or device stays write-only.
std::FILE* open_lines_file(const std::string& path);

/// Drops what `out` still buffers (it could only land after the cut) and
/// truncates a regular file to just after its last '\n' (to nothing when
/// it has none); `out` must be readable too (open_lines_file). False when
/// it is not a regular file or could not be read or cut; the caller has
/// already reported the write error.
bool cut_to_whole_lines(std::FILE* out);

}  // namespace tcpscribe
