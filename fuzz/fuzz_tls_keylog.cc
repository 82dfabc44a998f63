// The TLS key log reader (src/analyzers/tls/tls_keylog.h).
//
// Input: key log text. Properties:
//  1. add_text over the whole text and follow_file over a file that grows
//     in pieces (cut where the input's bytes say, a piece sometimes ending
//     inside a line) read the same table: the same client randoms with the
//     same secrets, and the same counts (lines, secrets, unused, bad, the
//     first bad line).
//  2. follow_file with nothing appended reads nothing new.
//  3. The table never exceeds its cap (a small one here); what the cap
//     refused is counted.
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "fuzz_check.h"
#include "tls_keylog.h"

using namespace tcpscribe;

namespace {

bool same_table(const TlsKeyLog& a, const TlsKeyLog& b) {
  if (a.size() != b.size()) return false;
  bool same = true;
  a.for_each([&](const TlsRandom& r, const TlsKeyLogEntry& e) {
    const TlsKeyLogEntry* o = b.find(r);
    if (!o || !(*o == e)) same = false;
  });
  return same;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  constexpr size_t kCap = 8;
  TlsKeyLog whole(kCap);
  whole.add_text(text);
  FUZZ_CHECK(whole.size() <= kCap, "%zu entries over the cap", whole.size());

  const int fd = memfd_create("keylog", 0);
  if (fd < 0) return 0;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  TlsKeyLog grown(kCap);
  std::string error;
  size_t at = 0;
  // The file is written in pieces whose lengths come from the text itself.
  const std::string file = text.empty() || text.back() == '\n' ? text : text + "\n";
  while (at < file.size()) {
    const size_t n = std::min<size_t>(file.size() - at, 1 + (static_cast<uint8_t>(file[at]) % 97));
    if (pwrite(fd, file.data() + at, n, static_cast<off_t>(at)) != static_cast<ssize_t>(n)) break;
    at += n;
    FUZZ_CHECK(grown.follow_file(path, error) >= 0, "%s", error.c_str());
  }
  FUZZ_CHECK(grown.follow_file(path, error) == 0, "a read with nothing appended found secrets");
  close(fd);
  if (at < file.size()) return 0;

  const TlsKeyLogCounts& a = whole.counts();
  const TlsKeyLogCounts& b = grown.counts();
  FUZZ_CHECK(a.lines == b.lines && a.secrets == b.secrets && a.unused == b.unused &&
                 a.bad == b.bad && a.first_bad_line == b.first_bad_line && a.dropped == b.dropped,
             "counts differ: lines %lu/%lu secrets %lu/%lu unused %lu/%lu bad %lu/%lu first %lu/%lu",
             (unsigned long)a.lines, (unsigned long)b.lines, (unsigned long)a.secrets,
             (unsigned long)b.secrets, (unsigned long)a.unused, (unsigned long)b.unused,
             (unsigned long)a.bad, (unsigned long)b.bad, (unsigned long)a.first_bad_line,
             (unsigned long)b.first_bad_line);
  FUZZ_CHECK(same_table(whole, grown), "the tables differ");
  FUZZ_CHECK(b.rereads == 0, "a growing file was read anew");
  return 0;
}
