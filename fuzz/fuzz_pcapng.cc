// The pcapng reader (src/capture/pcapng_reader) over the input as a
// stream. Properties:
//  - every packet's bytes are bytes of the file, inside the block being
//    read (at or after its offset), and caplen <= the bytes given;
//  - the link type is the interface's (a value its IDB could hold);
//  - after an error every later call gives the same error;
//  - a Decryption Secrets Block's data is bytes of the file, inside the
//    block, and every such block is counted (bad ones too).
#include <cstdio>
#include <cstring>
#include <string>

#include "fuzz_check.h"
#include "pcapng_reader.h"

using namespace tcpscribe;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > (1u << 20)) return -1;
  std::string copy(reinterpret_cast<const char*>(data), size);
  std::FILE* f = fmemopen(copy.data(), copy.size(), "rb");
  FUZZ_CHECK(f != nullptr, "fmemopen");
  PcapngReader r(f, "fuzz.pcapng");
  uint64_t secrets = 0;
  r.set_secrets_hook([&](uint32_t, std::span<const uint8_t> d) {
    ++secrets;
    const uint64_t block = r.offset();
    FUZZ_CHECK(d.size() <= size - block, "secrets of %zu bytes, block at %llu of %zu bytes",
               d.size(), static_cast<unsigned long long>(block), size);
    if (!d.empty()) {
      FUZZ_CHECK(memmem(data + block, size - block, d.data(), d.size()) != nullptr,
                 "secrets not found in the file after their block");
    }
  });
  RawPacket p;
  ReadStatus st;
  uint64_t last_offset = 0;
  while ((st = r.next(p)) == ReadStatus::kPacket) {
    const uint64_t block = r.offset();
    FUZZ_CHECK(block >= last_offset && block < size, "block offset %llu",
               static_cast<unsigned long long>(block));
    last_offset = block;
    FUZZ_CHECK(p.caplen <= size - block, "caplen %u, block at %llu of %zu bytes", p.caplen,
               static_cast<unsigned long long>(block), size);
    FUZZ_CHECK(p.linktype >= 0 && p.linktype <= 0xFFFF, "link type %d", p.linktype);
    if (p.caplen > 0) {
      const void* found = memmem(data + block, size - block, p.data, p.caplen);
      FUZZ_CHECK(found != nullptr, "packet bytes not found in the file after its block");
    }
  }
  FUZZ_CHECK(secrets + r.bad_secrets_blocks() == r.secrets_blocks(),
             "secrets blocks %llu+%llu != %llu",
             static_cast<unsigned long long>(secrets),
             static_cast<unsigned long long>(r.bad_secrets_blocks()),
             static_cast<unsigned long long>(r.secrets_blocks()));
  if (st == ReadStatus::kError) {
    const std::string first = r.error();
    FUZZ_CHECK(!first.empty(), "an error without a message");
    FUZZ_CHECK(r.next(p) == ReadStatus::kError && r.error() == first, "the error does not stay");
  }
  return 0;
}
