// Opening capture files: pcap through libpcap, pcapng through our reader
// (libpcap 1.10 refuses pcapng files whose interfaces differ in link type
// or snapshot length, which multi-interface captures routinely do).
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include "tcpscribe/packet.h"

namespace tcpscribe {

class PcapChunkReader;

/// A capture file being read, with what progress reports need.
class CaptureFile : public PacketSource {
 public:
  /// Opens `path` ("-" is standard input). On failure returns null and sets
  /// `error` to one line naming the file and the reason.
  static std::unique_ptr<CaptureFile> open(const std::string& path, std::string& error);

  ReadStatus next(RawPacket& out) override { return inner_->next(out); }
  const std::string& error() const override { return inner_->error(); }
  const std::string& name() const override { return name_; }
  /// Bytes consumed so far and the file's size (0 when unknown: a pipe).
  uint64_t position() const;
  uint64_t size() const { return size_; }

 private:
  CaptureFile() = default;
  // stdio's buffer; declared before inner_ so that it outlives the stream.
  std::unique_ptr<char[]> buffer_;
  std::unique_ptr<PacketSource> inner_;
  std::FILE* file_ = nullptr;  // owned by inner_
  PcapChunkReader* chunked_ = nullptr;  // inner_, when it is one
  std::string name_;
  uint64_t size_ = 0;
};

}  // namespace tcpscribe
