#include "whole_lines.h"

#include <stdio_ext.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace tcpscribe {

std::FILE* open_lines_file(const std::string& path) {
  struct stat st {};
  const bool special = ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  return std::fopen(path.c_str(), special ? "w" : "w+");
}

bool cut_to_whole_lines(std::FILE* out) {
  if (!out) return false;
  __fpurge(out);  // a later fclose() must not append the rest of a cut line
  const int fd = fileno(out);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  off_t end = st.st_size;
  char buf[4096];
  while (end > 0) {
    const off_t start = std::max<off_t>(0, end - static_cast<off_t>(sizeof buf));
    const size_t n = static_cast<size_t>(end - start);
    if (::pread(fd, buf, n, start) != static_cast<ssize_t>(n)) return false;
    for (size_t i = n; i > 0; --i) {
      if (buf[i - 1] == '\n') return ::ftruncate(fd, start + static_cast<off_t>(i)) == 0;
    }
    end = start;
  }
  return ::ftruncate(fd, 0) == 0;
}

}  // namespace tcpscribe
