// Opening capture files: pcap through libpcap, pcapng through our reader
// (libpcap 1.10 refuses pcapng files whose interfaces differ in link type
// or snapshot length, which multi-interface captures routinely do).
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "pcapng_reader.h"
#include "tcpscribe/packet.h"

namespace tcpscribe {

class PcapChunkReader;

/// A capture file being read, with what progress reports need.
class CaptureFile : public PacketSource {
 public:
  /// Called while a pipe has no data for a while (and when a signal
  /// interrupts the wait); returns false to end the input there.
  using IdleHook = std::function<bool()>;
  /// How long a pipe may stay silent before the idle hook runs.
  static constexpr int kIdleMillis = 150;

  /// Opens `path` ("-" is standard input). On failure returns null and sets
  /// `error` to one line naming the file and the reason. A pipe, FIFO or
  /// socket is read as the bytes arrive (never waiting to fill a buffer);
  /// while it is silent, `on_idle` runs every kIdleMillis.
  static std::unique_ptr<CaptureFile> open(const std::string& path, std::string& error,
                                           IdleHook on_idle = {});

  ReadStatus next(RawPacket& out) override { return inner_->next(out); }
  const std::string& error() const override { return inner_->error(); }
  const std::string& name() const override { return name_; }
  /// Bytes consumed so far and the file's size (0 when unknown: a pipe).
  uint64_t position() const;
  uint64_t size() const { return size_; }
  /// Not a regular file: packets arrive over time (a pipe, FIFO, socket).
  bool streaming() const { return streaming_; }
  /// pcapng: its Decryption Secrets Blocks go to `hook` as they are read
  /// (pcapng_reader.h); other formats have none.
  void set_secrets_hook(PcapngReader::SecretsHook hook) {
    if (pcapng_) pcapng_->set_secrets_hook(std::move(hook));
  }
  bool is_pcapng() const { return pcapng_ != nullptr; }

 private:
  CaptureFile() = default;
  // stdio's buffer; declared before inner_ so that it outlives the stream.
  std::unique_ptr<char[]> buffer_;
  std::unique_ptr<PacketSource> inner_;
  std::FILE* file_ = nullptr;  // owned by inner_
  PcapChunkReader* chunked_ = nullptr;  // inner_, when it is one
  PcapngReader* pcapng_ = nullptr;      // inner_, when it is one
  std::string name_;
  uint64_t size_ = 0;
  bool streaming_ = false;
};

}  // namespace tcpscribe
