// A streaming pcapng reader. libpcap 1.10 refuses pcapng files whose
// interfaces differ in link type or snapshot length, which real multi-interface
// captures do all the time, so tcpscribe reads pcapng itself.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tcpscribe/packet.h"

namespace tcpscribe {

/// Reads pcapng (all sections, any number of interfaces, per-interface link
/// type and if_tsresol/if_tsoffset, Enhanced/Simple/obsolete Packet Blocks,
/// both byte orders).
///
/// Blocks are read strictly sequentially, so `f` may be a pipe or stdin. The
/// file must start with a Section Header Block: a caller that sniffs the magic
/// with is_pcapng_magic() has to hand over a stream positioned at byte 0.
class PcapngReader : public PacketSource {
 public:
  /// Takes ownership of `f` (closes it). `name` is used in messages.
  PcapngReader(std::FILE* f, std::string name);
  ~PcapngReader() override;

  PcapngReader(const PcapngReader&) = delete;
  PcapngReader& operator=(const PcapngReader&) = delete;

  /// Returns the next packet of any supported packet block. `out.data` points
  /// into an internal buffer that the next call overwrites. After kError every
  /// further call returns kError again with the same message.
  ReadStatus next(RawPacket& out) override;
  /// Message of the last kError: "<name>: <reason> at byte <offset> ...".
  const std::string& error() const override;
  /// The name given to the constructor.
  const std::string& name() const override;
  /// Byte offset in the file of the block being read when an error happened.
  uint64_t offset() const;

  /// Decryption Secrets Blocks (type 0x0000000A): called with each one's
  /// secrets type (0x544c534b "TLSK": an NSS key log) and its data, as it
  /// is read (before the packets after it).
  using SecretsHook = std::function<void(uint32_t type, std::span<const uint8_t> data)>;
  void set_secrets_hook(SecretsHook hook) { secrets_hook_ = std::move(hook); }
  /// Decryption Secrets Blocks read so far, and those too short for what
  /// they claimed (skipped).
  uint64_t secrets_blocks() const { return secrets_blocks_; }
  uint64_t bad_secrets_blocks() const { return bad_secrets_blocks_; }

 private:
  /// What an Interface Description Block says that packets need later.
  struct Interface {
    int linktype = 0;
    uint32_t snaplen = 0;
    /// if_tsresol as stored: bit 7 clear = 10^-n s, set = 2^-n s.
    uint8_t tsresol = 6;
    /// if_tsoffset: seconds added to every timestamp.
    int64_t tsoffset = 0;
  };

  /// Outcome of reading one block into block_.
  enum class BlockStatus { kBlock, kEnd, kError };

  BlockStatus read_block();
  /// Reads exactly `n` bytes; false on a short read (error_ is then set).
  bool read_exact(uint8_t* dst, size_t n);
  bool handle_section_header();
  bool handle_interface_description();
  /// Fills `out` from an Enhanced (6) or obsolete (2) Packet Block.
  bool handle_packet_block(RawPacket& out, bool enhanced);
  bool handle_simple_packet_block(RawPacket& out);
  void handle_secrets();
  bool interface_for(uint32_t id, const Interface** iface);
  Timestamp to_timestamp(const Interface& iface, uint64_t units) const;

  uint16_t get16(size_t pos) const;
  uint32_t get32(size_t pos) const;
  uint64_t get64(size_t pos) const;
  /// Records "<name>: <reason>" and makes the reader fail from now on.
  /// Returns false so that handlers can `return fail(...)`.
  bool fail(const std::string& reason);

  std::FILE* file_;
  std::string name_;
  std::string error_;
  /// Bytes consumed from `file_` so far.
  uint64_t position_ = 0;
  /// Offset of the block read last (the failing one after an error).
  uint64_t block_offset_ = 0;
  bool failed_ = false;
  bool seen_section_ = false;
  /// Byte order of the current section.
  bool big_endian_ = false;
  std::vector<Interface> interfaces_;
  /// The whole current block, header and trailer included.
  std::vector<uint8_t> block_;
  uint32_t block_type_ = 0;
  uint32_t block_length_ = 0;
  SecretsHook secrets_hook_;
  uint64_t secrets_blocks_ = 0;
  uint64_t bad_secrets_blocks_ = 0;
};

/// The secrets type of a Decryption Secrets Block holding an NSS key log.
inline constexpr uint32_t kPcapngSecretsTls = 0x544c534b;

/// True when the first 4 bytes are the pcapng Section Header Block type
/// 0x0A0D0D0A.
bool is_pcapng_magic(const uint8_t* first4);

}  // namespace tcpscribe
