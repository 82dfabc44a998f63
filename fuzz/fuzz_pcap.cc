// The classic pcap readers: PcapChunkReader on the input as a file, and
// CaptureFile::open (which picks the chunk reader, libpcap or the pcapng
// reader) on the same file. Properties:
//  - every record returned lies inside the file: its bytes are the file's
//    bytes right after its 16-byte record header, which ends inside it;
//  - caplen <= the bytes given and <= the largest snapshot length;
//  - the two paths return the same packets, and position() only grows.
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "capture_file.h"
#include "fuzz_check.h"
#include "pcap_chunk_reader.h"

using namespace tcpscribe;

namespace {

struct Packet {
  Timestamp ts;
  int linktype;
  uint32_t caplen, origlen;
  std::string bytes;
};

int memfd_with(const uint8_t* data, size_t size) {
  const int fd = memfd_create("fuzz.pcap", MFD_CLOEXEC);
  FUZZ_CHECK(fd >= 0, "memfd_create");
  size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    FUZZ_CHECK(n > 0, "write to memfd");
    done += static_cast<size_t>(n);
  }
  return fd;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return -1;  // the chunk reader's interesting cases are small
  const int fd = memfd_with(data, size);
  std::vector<Packet> chunked;
  bool chunk_error = false;
  if (auto r = PcapChunkReader::open(fd, "fuzz.pcap")) {
    RawPacket p;
    uint64_t pos = r->position();
    FUZZ_CHECK(pos == 24, "first record at %llu", static_cast<unsigned long long>(pos));
    for (;;) {
      const ReadStatus st = r->next(p);
      if (st != ReadStatus::kPacket) {
        chunk_error = st == ReadStatus::kError;
        FUZZ_CHECK(!chunk_error || !r->error().empty(), "an error without a message");
        break;
      }
      const uint64_t at = pos + 16;
      FUZZ_CHECK(p.caplen <= 262144, "caplen %u", p.caplen);
      FUZZ_CHECK(at + p.caplen <= size, "record [%llu, +%u) past the file's %zu bytes",
                 static_cast<unsigned long long>(at), p.caplen, size);
      FUZZ_CHECK(p.caplen == 0 || std::memcmp(p.data, data + at, p.caplen) == 0,
                 "record bytes differ from the file's at %llu", static_cast<unsigned long long>(at));
      FUZZ_CHECK(p.region != nullptr && *p.region != nullptr, "no region");
      const uint64_t next = r->position();
      FUZZ_CHECK(next >= at + p.caplen && next <= size, "position %llu after a record at %llu",
                 static_cast<unsigned long long>(next), static_cast<unsigned long long>(at));
      pos = next;
      chunked.push_back({p.ts, p.linktype, p.caplen, p.origlen,
                         std::string(reinterpret_cast<const char*>(p.data), p.caplen)});
    }
  }

  std::string error;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  if (auto cf = CaptureFile::open(path, error)) {
    FUZZ_CHECK(cf->size() == size, "size %llu", static_cast<unsigned long long>(cf->size()));
    RawPacket p;
    size_t n = 0;
    ReadStatus st;
    while ((st = cf->next(p)) == ReadStatus::kPacket) {
      FUZZ_CHECK(p.caplen <= size && p.caplen <= 262144, "caplen %u of a %zu-byte file",
                 p.caplen, size);
      FUZZ_CHECK(cf->position() <= size, "position past the end");
      if (n < chunked.size()) {
        const Packet& c = chunked[n];
        FUZZ_CHECK(c.caplen == p.caplen && c.origlen == p.origlen && c.ts == p.ts &&
                       c.linktype == p.linktype &&
                       std::memcmp(c.bytes.data(), p.data, p.caplen) == 0,
                   "packet %zu differs between the chunk reader and CaptureFile", n);
      }
      ++n;
    }
    if (!chunked.empty() || chunk_error) {
      FUZZ_CHECK(n == chunked.size(), "CaptureFile read %zu packets, the chunk reader %zu", n,
                 chunked.size());
      FUZZ_CHECK((st == ReadStatus::kError) == chunk_error, "error status differs");
    }
  } else {
    FUZZ_CHECK(!error.empty(), "open failed without a message");
  }
  close(fd);
  return 0;
}
