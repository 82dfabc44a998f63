#include "pcap_chunk_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

namespace tcpscribe {
namespace {

constexpr size_t kFileHeader = 24;
constexpr size_t kRecordHeader = 16;
// libpcap's MAXIMUM_SNAPLEN: the largest caplen it accepts for the link
// types taken here, and the snapshot length of a file that claims none.
constexpr uint32_t kMaxSnaplen = 262144;
static_assert(PcapChunkReader::kChunkBytes >= 2 * (kRecordHeader + kMaxSnaplen));

uint32_t get32(const uint8_t* p, bool big) {
  return big ? uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]
             : uint32_t{p[3]} << 24 | uint32_t{p[2]} << 16 | uint32_t{p[1]} << 8 | p[0];
}
uint16_t get16(const uint8_t* p, bool big) {
  return static_cast<uint16_t>(big ? p[0] << 8 | p[1] : p[1] << 8 | p[0]);
}

/// The DLT number libpcap reports for a LINKTYPE value, for the link types
/// whose mapping is the same on every platform libpcap runs on here
/// (Linux); -1 for the others, which libpcap then reads.
int dlt_of(uint32_t linktype) {
  switch (linktype) {
    case 0: case 1: case 108: case 113: case 228: case 229: case 276:
      return static_cast<int>(linktype);
    case 101:  // LINKTYPE_RAW
      return 12;  // DLT_RAW
    default:
      return -1;
  }
}

}  // namespace

/// Free chunks. Shared with the chunks' deleters: a chunk may be released
/// on a writer thread, after the reader is gone.
struct PcapChunkReader::Pool {
  static constexpr size_t kKeep = 32;  // free chunks kept at most
  std::mutex mu;
  std::vector<std::unique_ptr<uint8_t[]>> free;

  std::unique_ptr<uint8_t[]> take() {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!free.empty()) {
        auto b = std::move(free.back());
        free.pop_back();
        return b;
      }
    }
    return std::make_unique_for_overwrite<uint8_t[]>(kChunkBytes);
  }
  void give(std::unique_ptr<uint8_t[]> b) {
    std::lock_guard<std::mutex> lock(mu);
    if (free.size() < kKeep) free.push_back(std::move(b));
  }
};

PcapChunkReader::PcapChunkReader(int fd, std::string name)
    : fd_(fd), name_(std::move(name)), pool_(std::make_shared<Pool>()) {}

PcapChunkReader::~PcapChunkReader() {
  if (fd_ >= 0) ::close(fd_);
}

std::unique_ptr<PcapChunkReader> PcapChunkReader::open(int fd, std::string name) {
  uint8_t head[kFileHeader];
  if (pread(fd, head, sizeof head, 0) != static_cast<ssize_t>(sizeof head)) return nullptr;
  const int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return nullptr;
  std::unique_ptr<PcapChunkReader> r(new PcapChunkReader(dup, std::move(name)));
  if (!r->parse_header(head)) return nullptr;
  r->read_off_ = kFileHeader;
  return r;
}

bool PcapChunkReader::parse_header(const uint8_t* h) {
  switch (get32(h, false)) {
    case 0xa1b2c3d4: big_ = false; nanos_ = false; break;
    case 0xa1b23c4d: big_ = false; nanos_ = true; break;
    case 0xd4c3b2a1: big_ = true; nanos_ = false; break;
    case 0x4d3cb2a1: big_ = true; nanos_ = true; break;
    default: return false;
  }
  // Before 2.4 libpcap may swap caplen and len; that is left to it.
  if (get16(h + 4, big_) != 2 || get16(h + 6, big_) != 4) return false;
  const uint32_t snaplen = get32(h + 16, big_);
  const uint32_t linktype = get32(h + 20, big_);
  if ((linktype & 0xFC000000u) != 0) return false;  // FCS length and flags
  linktype_ = dlt_of(linktype);
  if (linktype_ < 0) return false;
  // pcap_adjust_snapshot(): a snapshot length that is not positive or is
  // larger than the maximum becomes the maximum.
  const auto s = static_cast<int32_t>(snaplen);
  snapshot_ = s <= 0 || static_cast<uint32_t>(s) > kMaxSnaplen ? kMaxSnaplen : snaplen;
  return true;
}

ByteRegionRef PcapChunkReader::new_chunk() {
  std::unique_ptr<uint8_t[]> b = pool_->take();
  buf_ = b.get();
  auto* region = new ByteRegion{b.release(), kChunkBytes};
  return ByteRegionRef(region, [pool = pool_](const ByteRegion* r) {
    pool->give(std::unique_ptr<uint8_t[]>(const_cast<uint8_t*>(r->data)));
    delete r;
  });
}

bool PcapChunkReader::fill() {
  while (len_ < kChunkBytes && !eof_) {
    const ssize_t n = pread(fd_, buf_ + len_, kChunkBytes - len_, static_cast<off_t>(read_off_));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(std::string("error reading dump file: ") + std::strerror(errno));
      return false;
    }
    if (n == 0) eof_ = true;
    len_ += static_cast<size_t>(n);
    read_off_ += static_cast<uint64_t>(n);
  }
  return true;
}

bool PcapChunkReader::ensure(size_t need) {
  if (len_ - at_ >= need) return true;
  if (eof_) return false;
  if (!chunk_ || at_ + need > kChunkBytes) {
    // The record runs past this chunk: it starts the next one. Packets
    // handed out keep the old chunk, so its bytes are not moved in place.
    const uint8_t* old = buf_;
    ByteRegionRef next = new_chunk();
    if (len_ > at_) std::memcpy(buf_, old + at_, len_ - at_);
    len_ -= at_;
    at_ = 0;
    chunk_ = std::move(next);
  }
  if (!fill()) return false;
  return len_ - at_ >= need;
}

ReadStatus PcapChunkReader::fail(const std::string& what) {
  error_ = name_ + ": " + what + " (after packet " + std::to_string(packets_) +
           "; the file is damaged or cut short)";
  failed_ = true;
  return ReadStatus::kError;
}

ReadStatus PcapChunkReader::next(RawPacket& out) {
  if (failed_) return ReadStatus::kError;
  char msg[128];
  if (!ensure(kRecordHeader)) {
    if (failed_) return ReadStatus::kError;
    if (len_ == at_) return ReadStatus::kEnd;
    std::snprintf(msg, sizeof msg, "truncated dump file; tried to read %zu header bytes, only got %zu",
                  kRecordHeader, len_ - at_);
    return fail(msg);
  }
  const uint8_t* r = buf_ + at_;
  const auto sec = static_cast<int32_t>(get32(r, big_));
  const auto frac = static_cast<int32_t>(get32(r + 4, big_));
  const uint32_t caplen = get32(r + 8, big_);
  const uint32_t len = get32(r + 12, big_);
  if (caplen > kMaxSnaplen) {
    std::snprintf(msg, sizeof msg, "invalid packet capture length %u, bigger than snaplen of %d",
                  caplen, static_cast<int>(snapshot_));
    return fail(msg);
  }
  // A record longer than the file's snapshot length is cut to it (libpcap
  // reads the snapshot and skips the rest).
  const uint32_t keep = caplen > snapshot_ ? snapshot_ : caplen;
  if (!ensure(kRecordHeader + caplen)) {
    if (failed_) return ReadStatus::kError;
    const size_t avail = len_ - at_ - kRecordHeader;
    std::snprintf(msg, sizeof msg, "truncated dump file; tried to read %u captured bytes, only got %zu",
                  avail < keep ? keep : caplen, avail);
    return fail(msg);
  }
  r = buf_ + at_;  // ensure() may have moved the record to a new chunk
  out.ts = static_cast<Timestamp>(sec) * kNanosPerSecond +
           (nanos_ ? static_cast<Timestamp>(frac) : static_cast<Timestamp>(frac) * 1000);
  out.linktype = linktype_;
  out.caplen = keep;
  out.origlen = len;
  out.data = r + kRecordHeader;
  out.region = &chunk_;
  at_ += kRecordHeader + caplen;
  ++packets_;
  return ReadStatus::kPacket;
}

}  // namespace tcpscribe
