#include "pcapng_reader.h"

#include <algorithm>

#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <utility>

namespace tcpscribe {
namespace {

// Block types from the pcapng specification (draft-ietf-opsawg-pcapng).
constexpr uint32_t kSectionHeaderBlock = 0x0A0D0D0A;
constexpr uint32_t kInterfaceDescriptionBlock = 1;
constexpr uint32_t kObsoletePacketBlock = 2;
constexpr uint32_t kSimplePacketBlock = 3;
constexpr uint32_t kEnhancedPacketBlock = 6;
constexpr uint32_t kDecryptionSecretsBlock = 0x0A;
// Header + secrets type + secrets length + trailer.
constexpr uint32_t kMinSecretsLength = 20;
constexpr uint32_t kSecretsDataOffset = 16;

constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;

// Option codes of the Interface Description Block that affect timestamps.
constexpr uint16_t kOptEndOfOpt = 0;
constexpr uint16_t kOptIfTsresol = 9;
constexpr uint16_t kOptIfTsoffset = 14;

// Fixed sizes, in bytes, of block type + total length, and of the trailer.
constexpr uint32_t kBlockHeaderSize = 8;
constexpr uint32_t kBlockTrailerSize = 4;
constexpr uint32_t kMinBlockLength = kBlockHeaderSize + kBlockTrailerSize;
// Header + byte-order magic + versions + section length + trailer.
constexpr uint32_t kMinSectionHeaderLength = 28;
// Header + link type + reserved + snaplen + trailer.
constexpr uint32_t kMinInterfaceLength = 20;
// Header + interface + ts high + ts low + caplen + origlen + trailer; the same
// layout serves the obsolete Packet Block (16-bit interface + drop count).
constexpr uint32_t kMinPacketLength = 32;
constexpr uint32_t kPacketDataOffset = 28;
// Header + original length + trailer.
constexpr uint32_t kMinSimplePacketLength = 16;
constexpr uint32_t kSimplePacketDataOffset = 12;

// Real blocks are at most a jumbo frame plus options; a larger length means
// a corrupt file, and trusting it would make us allocate gigabytes.
constexpr uint32_t kMaxBlockLength = 256u * 1024 * 1024;

// 10^0 .. 10^19: every power of ten that fits in 64 bits.
constexpr int kMaxPow10 = 19;
constexpr uint64_t Pow10(int n) {
  uint64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

uint16_t Load16(const uint8_t* p, bool big_endian) {
  return big_endian ? static_cast<uint16_t>(p[0] << 8 | p[1])
                    : static_cast<uint16_t>(p[1] << 8 | p[0]);
}

uint32_t Load32(const uint8_t* p, bool big_endian) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) {
    v = v << 8 | p[big_endian ? i : 3 - i];
  }
  return v;
}

uint64_t Load64(const uint8_t* p, bool big_endian) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v = v << 8 | p[big_endian ? i : 7 - i];
  }
  return v;
}

// Options and packet data are padded to 32 bits.
constexpr uint32_t PadTo4(uint32_t n) { return (n + 3) & ~3u; }

}  // namespace

bool is_pcapng_magic(const uint8_t* first4) {
  // The SHB type reads the same in both byte orders, so no swap is needed.
  return first4[0] == 0x0A && first4[1] == 0x0D && first4[2] == 0x0D &&
         first4[3] == 0x0A;
}

PcapngReader::PcapngReader(std::FILE* f, std::string name)
    : file_(f), name_(std::move(name)) {}

PcapngReader::~PcapngReader() {
  if (file_ != nullptr) std::fclose(file_);
}

const std::string& PcapngReader::error() const { return error_; }

const std::string& PcapngReader::name() const { return name_; }

uint64_t PcapngReader::offset() const { return block_offset_; }

ReadStatus PcapngReader::next(RawPacket& out) {
  if (failed_) return ReadStatus::kError;
  // Only allocation can throw here; PacketSource users expect a status.
  try {
    for (;;) {
      switch (read_block()) {
        case BlockStatus::kEnd:
          return ReadStatus::kEnd;
        case BlockStatus::kError:
          return ReadStatus::kError;
        case BlockStatus::kBlock:
          break;
      }
      bool ok = true;
      switch (block_type_) {
        case kSectionHeaderBlock:
          ok = handle_section_header();
          break;
        case kInterfaceDescriptionBlock:
          ok = handle_interface_description();
          break;
        case kEnhancedPacketBlock:
          return handle_packet_block(out, /*enhanced=*/true)
                     ? ReadStatus::kPacket
                     : ReadStatus::kError;
        case kObsoletePacketBlock:
          return handle_packet_block(out, /*enhanced=*/false)
                     ? ReadStatus::kPacket
                     : ReadStatus::kError;
        case kSimplePacketBlock:
          return handle_simple_packet_block(out) ? ReadStatus::kPacket
                                                 : ReadStatus::kError;
        case kDecryptionSecretsBlock:
          handle_secrets();
          break;
        default:
          // Name resolution, statistics, custom blocks: nothing that
          // reconstruction needs.
          break;
      }
      if (!ok) return ReadStatus::kError;
    }
  } catch (const std::exception& e) {
    fail(std::string("cannot read block at byte ") +
         std::to_string(block_offset_) + ": " + e.what());
    return ReadStatus::kError;
  }
}

void PcapngReader::handle_secrets() {
  // A damaged one is skipped: the packets after it are still good.
  ++secrets_blocks_;
  if (block_length_ < kMinSecretsLength) {
    ++bad_secrets_blocks_;
    return;
  }
  const uint32_t type = get32(8);
  const uint32_t length = get32(12);
  if (length > block_length_ - kMinSecretsLength) {
    ++bad_secrets_blocks_;
    return;
  }
  if (secrets_hook_) secrets_hook_(type, {block_.data() + kSecretsDataOffset, length});
}

PcapngReader::BlockStatus PcapngReader::read_block() {
  block_offset_ = position_;
  if (file_ == nullptr) {
    fail("no file to read");
    return BlockStatus::kError;
  }
  const std::string at = " at byte " + std::to_string(block_offset_);

  // Type, total length and, for a Section Header Block, the byte-order magic
  // that tells how to decode that length.
  uint8_t head[kBlockHeaderSize + 4];
  size_t got = std::fread(head, 1, kBlockHeaderSize, file_);
  position_ += got;
  if (got == 0 && !std::ferror(file_)) {
    if (seen_section_) return BlockStatus::kEnd;
    fail("empty file at byte 0, not a pcapng capture");
    return BlockStatus::kError;
  }
  if (got < kBlockHeaderSize) {
    if (std::ferror(file_)) {
      fail("read error" + at + ": " + std::strerror(errno));
    } else {
      fail("truncated block" + at + " (file cut short?)");
    }
    return BlockStatus::kError;
  }
  size_t head_size = kBlockHeaderSize;
  const bool is_section = is_pcapng_magic(head);
  if (is_section) {
    if (!read_exact(head + kBlockHeaderSize, 4)) return BlockStatus::kError;
    head_size += 4;
    const uint32_t bom = Load32(head + kBlockHeaderSize, /*big_endian=*/true);
    if (bom == kByteOrderMagic) {
      big_endian_ = true;
    } else if (Load32(head + kBlockHeaderSize, false) == kByteOrderMagic) {
      big_endian_ = false;
    } else {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x", static_cast<unsigned>(bom));
      fail("Section Header Block" + at + " has an invalid byte-order magic " +
           hex + " (corrupt file?)");
      return BlockStatus::kError;
    }
  } else if (!seen_section_) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x",
                  static_cast<unsigned>(Load32(head, false)));
    fail(std::string("not a pcapng capture: the block at byte 0 has type ") +
         hex + ", not a Section Header Block");
    return BlockStatus::kError;
  }

  block_type_ = Load32(head, big_endian_);
  block_length_ = Load32(head + 4, big_endian_);
  const std::string len = std::to_string(block_length_);
  if (block_length_ > kMaxBlockLength) {
    fail("block" + at + " claims a length of " + len +
         " bytes, more than the 256 MiB limit (corrupt file?)");
    return BlockStatus::kError;
  }
  if (block_length_ % 4 != 0) {
    fail("block" + at + " has length " + len +
         ", not a multiple of 4 (corrupt file?)");
    return BlockStatus::kError;
  }
  const uint32_t min_length =
      is_section ? kMinSectionHeaderLength : kMinBlockLength;
  if (block_length_ < min_length) {
    fail("block" + at + " has length " + len + ", below the minimum of " +
         std::to_string(min_length) + " (corrupt file?)");
    return BlockStatus::kError;
  }

  // The buffer grows as the bytes arrive (doubling), not to the claimed
  // length at once: a file of a few bytes claiming a 255 MiB block cost
  // 255 MiB of zeroed memory before the read found it cut short.
  block_.resize(head_size);
  std::memcpy(block_.data(), head, head_size);
  for (size_t have = head_size; have < block_length_;) {
    const size_t step = std::min<size_t>(block_length_ - have, std::max<size_t>(have, 64u << 10));
    block_.resize(have + step);
    if (!read_exact(block_.data() + have, step)) return BlockStatus::kError;
    have += step;
  }
  const uint32_t trailer =
      Load32(block_.data() + block_length_ - kBlockTrailerSize, big_endian_);
  if (trailer != block_length_) {
    fail("block" + at + " has trailing length " + std::to_string(trailer) +
         " different from its leading length " + len + " (corrupt file?)");
    return BlockStatus::kError;
  }
  return BlockStatus::kBlock;
}

bool PcapngReader::read_exact(uint8_t* dst, size_t n) {
  const size_t got = std::fread(dst, 1, n, file_);
  position_ += got;
  if (got == n) return true;
  const std::string at = " at byte " + std::to_string(block_offset_);
  if (std::ferror(file_)) {
    return fail("read error in block" + at + ": " + std::strerror(errno));
  }
  return fail("truncated block" + at + " (file cut short?)");
}

bool PcapngReader::handle_section_header() {
  const uint16_t major = get16(12);
  const uint16_t minor = get16(14);
  // A different major version means an incompatible layout (spec 4.1).
  if (major != 1) {
    return fail("Section Header Block at byte " +
                std::to_string(block_offset_) + " has unsupported version " +
                std::to_string(major) + "." + std::to_string(minor));
  }
  // Interface IDs are numbered per section.
  seen_section_ = true;
  interfaces_.clear();
  return true;
}

bool PcapngReader::handle_interface_description() {
  if (block_length_ < kMinInterfaceLength) {
    return fail("Interface Description Block at byte " +
                std::to_string(block_offset_) + " is too short (" +
                std::to_string(block_length_) + " bytes)");
  }
  Interface iface;
  iface.linktype = get16(8);
  iface.snaplen = get32(12);
  // Options are parsed leniently: a malformed option ends the list rather
  // than the capture, since the packets themselves are still intact.
  const size_t end = block_length_ - kBlockTrailerSize;
  size_t pos = 16;
  while (pos + 4 <= end) {
    const uint16_t code = get16(pos);
    const uint16_t length = get16(pos + 2);
    if (code == kOptEndOfOpt || pos + 4 + length > end) break;
    if (code == kOptIfTsresol && length >= 1) {
      iface.tsresol = block_[pos + 4];
    } else if (code == kOptIfTsoffset && length == 8) {
      iface.tsoffset = static_cast<int64_t>(get64(pos + 4));
    }
    pos += 4 + PadTo4(length);
  }
  interfaces_.push_back(iface);
  return true;
}

bool PcapngReader::interface_for(uint32_t id, const Interface** iface) {
  if (id >= interfaces_.size()) {
    return fail("packet block at byte " + std::to_string(block_offset_) +
                " refers to interface " + std::to_string(id) +
                ", but the section defines only " +
                std::to_string(interfaces_.size()) + " (corrupt file?)");
  }
  *iface = &interfaces_[id];
  return true;
}

bool PcapngReader::handle_packet_block(RawPacket& out, bool enhanced) {
  const char* kind =
      enhanced ? "Enhanced Packet Block" : "obsolete Packet Block";
  if (block_length_ < kMinPacketLength) {
    return fail(std::string(kind) + " at byte " +
                std::to_string(block_offset_) + " is too short (" +
                std::to_string(block_length_) + " bytes)");
  }
  const uint32_t id = enhanced ? get32(8) : get16(8);
  const Interface* iface = nullptr;
  if (!interface_for(id, &iface)) return false;
  const uint64_t units = static_cast<uint64_t>(get32(12)) << 32 | get32(16);
  const uint32_t caplen = get32(20);
  const uint32_t available = block_length_ - kMinPacketLength;
  if (caplen > available) {
    return fail(
        std::string(kind) + " at byte " + std::to_string(block_offset_) +
        " has captured length " + std::to_string(caplen) + " beyond the " +
        std::to_string(available) + " data bytes of the block (corrupt file?)");
  }
  out.ts = to_timestamp(*iface, units);
  out.linktype = iface->linktype;
  out.caplen = caplen;
  out.origlen = get32(24);
  out.data = block_.data() + kPacketDataOffset;
  return true;
}

bool PcapngReader::handle_simple_packet_block(RawPacket& out) {
  if (block_length_ < kMinSimplePacketLength) {
    return fail("Simple Packet Block at byte " + std::to_string(block_offset_) +
                " is too short (" + std::to_string(block_length_) + " bytes)");
  }
  const Interface* iface = nullptr;
  if (!interface_for(0, &iface)) return false;
  const uint32_t origlen = get32(8);
  // The SPB has no captured-length field: the data is the original frame,
  // cut to the snapshot length, padded to 32 bits.
  uint32_t caplen = block_length_ - kMinSimplePacketLength;
  if (origlen < caplen) caplen = origlen;
  if (iface->snaplen != 0 && iface->snaplen < caplen) caplen = iface->snaplen;
  out.ts = 0;  // An SPB carries no timestamp.
  out.linktype = iface->linktype;
  out.caplen = caplen;
  out.origlen = origlen;
  out.data = block_.data() + kSimplePacketDataOffset;
  return true;
}

Timestamp PcapngReader::to_timestamp(const Interface& iface,
                                     uint64_t units) const {
  // 128 bits hold units * 10^9 (< 2^94) exactly, so no resolution loses
  // precision to rounding through floating point.
  __extension__ using Int128 = __int128;
  const int n = iface.tsresol & 0x7F;
  Int128 ns = 0;
  if (iface.tsresol & 0x80) {
    ns = (static_cast<Int128>(units) * kNanosPerSecond) >> n;
  } else if (n <= 9) {
    ns = static_cast<Int128>(units) * static_cast<Int128>(Pow10(9 - n));
  } else if (n - 9 <= kMaxPow10) {
    ns = units / Pow10(n - 9);
  }  // Else a unit is below 10^-29 s and 64 bits of them stay under 1 ns.
  ns += static_cast<Int128>(iface.tsoffset) * kNanosPerSecond;
  // Beyond year 2262 the value does not fit; saturate rather than lose the
  // packet, as reconstruction needs the bytes far more than the time.
  constexpr Timestamp kMax = std::numeric_limits<Timestamp>::max();
  constexpr Timestamp kMin = std::numeric_limits<Timestamp>::min();
  if (ns > kMax) return kMax;
  if (ns < kMin) return kMin;
  return static_cast<Timestamp>(ns);
}

uint16_t PcapngReader::get16(size_t pos) const {
  return Load16(block_.data() + pos, big_endian_);
}

uint32_t PcapngReader::get32(size_t pos) const {
  return Load32(block_.data() + pos, big_endian_);
}

uint64_t PcapngReader::get64(size_t pos) const {
  return Load64(block_.data() + pos, big_endian_);
}

bool PcapngReader::fail(const std::string& reason) {
  failed_ = true;
  error_ = name_ + ": " + reason;
  return false;
}

}  // namespace tcpscribe
