// Classic pcap files read in large chunks that packets point into.
//
// libpcap reads a file through stdio and copies every byte twice on the
// way in (kernel to stdio's buffer, stdio's buffer to its own), and the
// packet it returns is overwritten by the next read, so whoever keeps it
// copies it once more. This reader reads the file straight into 1 MiB
// chunks with pread() and hands out packets that point into them; each
// chunk is a ByteRegion, so the reorder window and the file writers keep a
// packet by holding a reference to its chunk. A chunk goes back to a pool
// when the last reference is dropped: reading reuses memory that is
// already mapped. (A memory mapping of the file was tried first: on this
// project's VM touching a mapped page costs ~4x more than read() copying
// it, 1.3 s against 0.33 s for a 1.3 GB file.)
//
// It takes only the common, fully specified case: pcap 2.4, micro- or
// nanosecond timestamps in either byte order, and a link type whose DLT
// number libpcap would report unchanged (or LINKTYPE_RAW, reported as
// DLT_RAW). Anything else (other versions, the Kuznetzov format, FCS bits,
// other link types) is left to libpcap. Packets, their lengths and
// timestamps, and the messages for damaged files are libpcap's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "byte_region.h"
#include "tcpscribe/packet.h"

namespace tcpscribe {

class PcapChunkReader : public PacketSource {
 public:
  static constexpr size_t kChunkBytes = 1u << 20;

  /// Reads the regular file open as `fd` (duplicated: the caller keeps
  /// its descriptor) from its start. Null when it is not a pcap file this
  /// reader takes: the caller then reads it with libpcap.
  static std::unique_ptr<PcapChunkReader> open(int fd, std::string name);
  ~PcapChunkReader() override;
  PcapChunkReader(const PcapChunkReader&) = delete;
  PcapChunkReader& operator=(const PcapChunkReader&) = delete;

  /// `out.data` points into a chunk and `out.region` to it.
  ReadStatus next(RawPacket& out) override;
  const std::string& error() const override { return error_; }
  const std::string& name() const override { return name_; }
  /// File offset of the next record.
  uint64_t position() const { return read_off_ - (len_ - at_); }

 private:
  struct Pool;
  PcapChunkReader(int fd, std::string name);
  bool parse_header(const uint8_t* h);
  /// Makes `need` bytes from at_ readable in one chunk (false at the end
  /// of the file or on a read error; error_ is set for the latter).
  bool ensure(size_t need);
  bool fill();
  ByteRegionRef new_chunk();
  ReadStatus fail(const std::string& what);

  int fd_;
  std::string name_;
  std::string error_;
  std::shared_ptr<Pool> pool_;
  ByteRegionRef chunk_;  // the chunk being read
  uint8_t* buf_ = nullptr;  // its bytes
  size_t len_ = 0;       // bytes read into it
  size_t at_ = 0;        // next record
  uint64_t read_off_ = 0;  // file offset after the chunk's bytes
  bool eof_ = false;
  bool failed_ = false;
  bool big_ = false;  // big-endian fields
  bool nanos_ = false;
  int linktype_ = 0;
  uint32_t snapshot_ = 0;
  uint64_t packets_ = 0;
};

}  // namespace tcpscribe
