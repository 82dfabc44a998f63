// Replay's answer-end counter (src/replay/replay_answer_count): a server's
// stream in RESP, HTTP/1 or PostgreSQL, counted for conversational pacing
// and error answers. Input: a flags byte (protocol, SSLRequest), a seed
// byte, then the stream. Properties: the counts (answers, errors, at an
// answer's end, lost) are the same fed whole, byte by byte and in pieces
// cut where the seed says; the answer count never goes down; nothing is
// counted once lost.
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "replay_answer_count.h"

using namespace tcpscribe;

namespace {

struct Count {
  uint64_t answers = 0, errors = 0;
  bool at_end = false, lost = false;
  bool operator==(const Count&) const = default;
};

Count run(AnswerProtocol p, bool ssl, std::string_view s, int mode, uint8_t seed) {
  AnswerCounter c(p, ssl);
  uint64_t last = 0;
  bool was_lost = false;
  uint32_t r = seed;
  for (size_t i = 0; i < s.size();) {
    size_t n = s.size();
    if (mode == 1) n = 1;
    if (mode == 2) {
      r = r * 1103515245 + 12345;
      n = 1 + (r >> 16) % 300;
    }
    n = std::min(n, s.size() - i);
    c.feed(s.substr(i, n));
    i += n;
    FUZZ_CHECK(c.answers() >= last, "the answer count went down");
    FUZZ_CHECK(!was_lost || c.answers() == last, "an answer counted after the counting stopped");
    last = c.answers();
    was_lost = c.lost();
  }
  return {c.answers(), c.errors(), c.at_answer_end(), c.lost()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 64 * 1024) return -1;
  static const AnswerProtocol kProtocols[] = {AnswerProtocol::kResp, AnswerProtocol::kHttp,
                                              AnswerProtocol::kPostgres, AnswerProtocol::kResp};
  const AnswerProtocol p = kProtocols[data[0] & 3];
  const bool ssl = data[0] & 4;
  const std::string_view s(reinterpret_cast<const char*>(data) + 2, size - 2);
  const Count whole = run(p, ssl, s, 0, data[1]);
  const Count bytes = run(p, ssl, s, 1, data[1]);
  const Count pieces = run(p, ssl, s, 2, data[1]);
  FUZZ_CHECK(whole == bytes, "counts differ fed whole and byte by byte: %llu/%llu answers",
             static_cast<unsigned long long>(whole.answers),
             static_cast<unsigned long long>(bytes.answers));
  FUZZ_CHECK(whole == pieces, "counts differ fed whole and in pieces: %llu/%llu answers",
             static_cast<unsigned long long>(whole.answers),
             static_cast<unsigned long long>(pieces.answers));
  return 0;
}
