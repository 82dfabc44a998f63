#include "capture_file.h"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

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

/// A stdio stream over a pipe, FIFO or standard input that hands on bytes
/// as they arrive: one read() per call, so a packet reaches libpcap as soon
/// as its bytes are there, not when a buffer is full. While the pipe is
/// silent (or a signal interrupts the wait) the idle hook runs, and may end
/// the input. The magic number, read first to tell pcap from pcapng, is
/// handed back before the rest.
struct StreamInput {
  int fd;
  bool owns_fd;
  CaptureFile::IdleHook on_idle;
  unsigned char head[4] = {0, 0, 0, 0};
  size_t head_len = 0;
  size_t head_pos = 0;
};

ssize_t stream_read(void* cookie, char* buf, size_t size) {
  auto* s = static_cast<StreamInput*>(cookie);
  size_t n = 0;
  while (n < size && s->head_pos < s->head_len) buf[n++] = static_cast<char>(s->head[s->head_pos++]);
  if (n > 0) return static_cast<ssize_t>(n);
  for (;;) {
    pollfd pfd{s->fd, POLLIN, 0};
    const int ready = poll(&pfd, 1, s->on_idle ? CaptureFile::kIdleMillis : -1);
    if (ready > 0) {
      const ssize_t got = read(s->fd, buf, size);
      if (got >= 0 || (errno != EINTR && errno != EAGAIN)) return got;
    } else if (ready < 0 && errno != EINTR) {
      return -1;
    }
    if (s->on_idle && !s->on_idle()) return 0;  // told to stop: the input ends here
  }
}

int stream_close(void* cookie) {
  auto* s = static_cast<StreamInput*>(cookie);
  const int rc = s->owns_fd ? close(s->fd) : 0;
  delete s;
  return rc;
}

/// Wraps `fd` in a StreamInput stream and reads the magic number from it.
std::FILE* open_stream(int fd, bool owns_fd, CaptureFile::IdleHook on_idle,
                       unsigned char magic[4], size_t& got, std::string& error) {
  auto* s = new StreamInput{fd, owns_fd, std::move(on_idle)};
  got = 0;
  while (got < 4) {
    const ssize_t r = stream_read(s, reinterpret_cast<char*>(magic) + got, 4 - got);
    if (r < 0) error = std::strerror(errno);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  std::memcpy(s->head, magic, got);
  s->head_len = got;
  std::FILE* f = fopencookie(s, "r", {stream_read, nullptr, nullptr, stream_close});
  if (!f) {
    error = std::strerror(errno);
    stream_close(s);
  }
  return f;
}

}  // namespace

uint64_t CaptureFile::position() const {
  if (chunked_) return chunked_->position();
  if (!file_ || size_ == 0) return 0;
  const long pos = std::ftell(file_);
  return pos < 0 ? 0 : static_cast<uint64_t>(pos);
}

std::unique_ptr<CaptureFile> CaptureFile::open(const std::string& path,
                                               std::string& error, IdleHook on_idle) {
  std::unique_ptr<CaptureFile> cf(new CaptureFile());
  cf->name_ = path == "-" ? "standard input" : path;
  // Large reads: stdio's default 4 KiB buffer costs a system call per few
  // packets. glibc takes the size only with a buffer of ours, and only
  // before the stream's first read.
  constexpr size_t kBufferBytes = 1u << 20;
  cf->buffer_ = std::make_unique_for_overwrite<char[]>(kBufferBytes);
  const bool is_stdin = path == "-";
  const int fd = is_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "cannot open " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  struct stat st;
  if (fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      if (!is_stdin) close(fd);
      error = "cannot read " + cf->name_ + ": it is a directory, not a capture file";
      return nullptr;
    }
    cf->streaming_ = !S_ISREG(st.st_mode);
    if (S_ISREG(st.st_mode) && !is_stdin) cf->size_ = static_cast<uint64_t>(st.st_size);
  }
  std::FILE* f = nullptr;
  unsigned char magic[4] = {0, 0, 0, 0};
  size_t got = 0;
  if (is_stdin || cf->streaming_) {
    std::string why;
    f = open_stream(fd, !is_stdin, std::move(on_idle), magic, got, why);
    if (!f || (got < 4 && !why.empty())) {
      if (f) std::fclose(f);
      error = "cannot read " + cf->name_ + ": " + why;
      return nullptr;
    }
    std::setvbuf(f, cf->buffer_.get(), _IOFBF, kBufferBytes);
  } else {
    f = fdopen(fd, "rb");
    if (!f) {
      error = "cannot read " + path + ": " + std::strerror(errno);
      close(fd);
      return nullptr;
    }
    std::setvbuf(f, cf->buffer_.get(), _IOFBF, kBufferBytes);
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
    auto reader = std::make_unique<PcapngReader>(f, cf->name_);
    cf->pcapng_ = reader.get();
    cf->inner_ = std::move(reader);
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
