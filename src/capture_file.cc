#include "capture_file.h"

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "pcap_chunk_reader.h"
#include "pcapng_reader.h"

namespace tcpscribe {
namespace {

/// Reads classic pcap files (micro- and nanosecond, either byte order).
class PcapFileReader : public PacketSource {
 public:
  PcapFileReader(pcap_t* p, std::string name) : pcap_(p), name_(std::move(name)) {
    linktype_ = pcap_datalink(p);
  }
  ~PcapFileReader() override { pcap_close(pcap_); }

  ReadStatus next(RawPacket& out) override {
    struct pcap_pkthdr* h;
    const u_char* data;
    const int rc = pcap_next_ex(pcap_, &h, &data);
    if (rc == 1) {
      ++packets_;
      out.ts = static_cast<Timestamp>(h->ts.tv_sec) * kNanosPerSecond + h->ts.tv_usec;
      out.linktype = linktype_;
      out.caplen = h->caplen;
      out.origlen = h->len;
      out.data = data;
      return ReadStatus::kPacket;
    }
    if (rc == PCAP_ERROR_BREAK) return ReadStatus::kEnd;
    error_ = name_ + ": " + pcap_geterr(pcap_) + " (after packet " +
             std::to_string(packets_) + "; the file is damaged or cut short)";
    return ReadStatus::kError;
  }
  const std::string& error() const override { return error_; }
  const std::string& name() const override { return name_; }

 private:
  pcap_t* pcap_;
  std::string name_;
  std::string error_;
  int linktype_ = 0;
  uint64_t packets_ = 0;
};

/// A stdio stream that first hands back bytes already read from another
/// one: lets us sniff the magic number of standard input.
struct Peeked {
  std::FILE* inner;
  unsigned char head[4];
  size_t head_len;
  size_t head_pos;
};

ssize_t peeked_read(void* cookie, char* buf, size_t size) {
  auto* p = static_cast<Peeked*>(cookie);
  size_t n = 0;
  while (n < size && p->head_pos < p->head_len) buf[n++] = static_cast<char>(p->head[p->head_pos++]);
  if (n < size) n += std::fread(buf + n, 1, size - n, p->inner);
  return static_cast<ssize_t>(n);
}

int peeked_close(void* cookie) {
  auto* p = static_cast<Peeked*>(cookie);
  delete p;
  return 0;
}

}  // namespace

uint64_t CaptureFile::position() const {
  if (chunked_) return chunked_->position();
  if (!file_ || size_ == 0) return 0;
  const long pos = std::ftell(file_);
  return pos < 0 ? 0 : static_cast<uint64_t>(pos);
}

std::unique_ptr<CaptureFile> CaptureFile::open(const std::string& path,
                                               std::string& error) {
  std::unique_ptr<CaptureFile> cf(new CaptureFile());
  cf->name_ = path == "-" ? "standard input" : path;
  // Large reads: stdio's default 4 KiB buffer costs a system call per few
  // packets. glibc takes the size only with a buffer of ours, and only
  // before the stream's first read.
  constexpr size_t kBufferBytes = 1u << 20;
  cf->buffer_ = std::make_unique_for_overwrite<char[]>(kBufferBytes);
  std::FILE* f = nullptr;
  unsigned char magic[4] = {0, 0, 0, 0};
  size_t got = 0;
  if (path == "-") {
    got = std::fread(magic, 1, 4, stdin);
    auto* cookie = new Peeked{stdin, {magic[0], magic[1], magic[2], magic[3]}, got, 0};
    f = fopencookie(cookie, "r", {peeked_read, nullptr, nullptr, peeked_close});
    if (!f) {
      delete cookie;
      error = "cannot read standard input";
      return nullptr;
    }
    std::setvbuf(f, cf->buffer_.get(), _IOFBF, kBufferBytes);
  } else {
    f = std::fopen(path.c_str(), "rb");
    if (!f) {
      error = "cannot open " + path + ": " + std::strerror(errno);
      return nullptr;
    }
    std::setvbuf(f, cf->buffer_.get(), _IOFBF, kBufferBytes);
    struct stat st;
    if (fstat(fileno(f), &st) == 0) {
      if (S_ISDIR(st.st_mode)) {
        std::fclose(f);
        error = "cannot read " + path + ": it is a directory, not a capture file";
        return nullptr;
      }
      if (S_ISREG(st.st_mode)) cf->size_ = static_cast<uint64_t>(st.st_size);
    }
    got = std::fread(magic, 1, 4, f);
    std::rewind(f);
  }
  if (got < 4) {
    std::fclose(f);
    error = cf->name_ + ": " + (got == 0 ? "empty file" : "file too short") +
            ", not a pcap or pcapng capture";
    return nullptr;
  }
  if (cf->size_ > 0 && !is_pcapng_magic(magic)) {
    // A regular pcap file: read in chunks, when PcapChunkReader takes it.
    if (auto reader = PcapChunkReader::open(fileno(f), cf->name_)) {
      std::fclose(f);  // the reader has its own descriptor
      cf->buffer_.reset();
      cf->chunked_ = reader.get();
      cf->inner_ = std::move(reader);
      return cf;
    }
  }
  cf->file_ = f;
  if (is_pcapng_magic(magic)) {
    cf->inner_ = std::make_unique<PcapngReader>(f, cf->name_);
    return cf;
  }
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) {
    std::fclose(f);
    error = cf->name_ + ": " + errbuf + " (expected a pcap or pcapng capture)";
    return nullptr;
  }
  cf->inner_ = std::make_unique<PcapFileReader>(p, cf->name_);
  return cf;
}

}  // namespace tcpscribe
