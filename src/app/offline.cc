#include "offline.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "capture_file.h"
#include "diag.h"
#include "input_merge.h"
#include "pipeline.h"
#include "privileges.h"
#include "progress.h"

namespace tcpscribe {
namespace {

using Clock = std::chrono::steady_clock;

std::atomic<int> g_stop_signals{0};

void on_stop_signal(int) {
  // The first SIGINT/SIGTERM ends the reading; every connection is then
  // finished and every report written, as in live capture. A second one
  // exits at once.
  if (g_stop_signals.fetch_add(1) >= 1) _exit(130);
}

bool stop_requested() { return g_stop_signals.load() > 0; }

/// Without SA_RESTART, so that a signal also ends a wait on a silent pipe.
void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

/// Some input is a pipe, FIFO or socket: its packets arrive over time.
bool any_streaming(const std::vector<InputFile>& inputs) {
  for (const InputFile& in : inputs) {
    struct stat st;
    const int rc = in.path == "-" ? fstat(STDIN_FILENO, &st) : stat(in.path.c_str(), &st);
    if (rc == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return true;
  }
  return false;
}

/// The merged read: every input, earliest packet first, into the pipeline.
class MergedRead {
 public:
  MergedRead(Pipeline& pipeline, std::vector<std::unique_ptr<CaptureFile>>& files)
      : pipeline_(pipeline), files_(files) {
    std::vector<PacketSource*> sources;
    bool size_unknown = false;
    for (const auto& f : files_) {
      sources.push_back(f.get());
      if (!f) continue;
      streaming_ = streaming_ || f->streaming();
      size_unknown = size_unknown || f->size() == 0;
      total_ += f->size();
    }
    if (size_unknown) total_ = 0;
    merge_ = std::make_unique<InputMerge>(std::move(sources));
  }

  /// Until every input ends, output fails or a signal stops the run.
  void run(Progress& progress, Clock::time_point& last_flush);
  uint64_t packets() const { return packets_; }

 private:
  /// An input is done (ended or failed): close it, count its bytes as read.
  void close(size_t i) {
    done_ += files_[i]->size();
    files_[i].reset();
  }
  uint64_t position() const {
    uint64_t at = done_;
    for (const auto& f : files_) at += f ? f->position() : 0;
    return at;
  }

  Pipeline& pipeline_;
  std::vector<std::unique_ptr<CaptureFile>>& files_;
  std::unique_ptr<InputMerge> merge_;
  bool streaming_ = false;
  uint64_t total_ = 0;  // bytes in all inputs, 0 when one is a pipe
  uint64_t done_ = 0;   // bytes of the inputs already closed
  uint64_t packets_ = 0;
  Clock::time_point last_tick_ = Clock::now();
};

void MergedRead::run(Progress& progress, Clock::time_point& last_flush) {
  RawPacket p;
  size_t i = 0;
  for (;;) {
    if (stop_requested()) break;
    const InputMerge::Status st = merge_->next(p, i);
    if (st == InputMerge::Status::kEnd) break;
    if (st == InputMerge::Status::kError) {
      // A stopped pipe reads as cut short: that is no damage.
      if (!stop_requested()) {
        progress.clear();
        diag::errorf("%s; everything before it is written",
                     files_[i]->error().c_str());
        pipeline_.set_input_error();
      }
      close(i);
      continue;
    }
    if (st == InputMerge::Status::kSourceEnd) {
      close(i);
      continue;
    }
    if ((++packets_ & 1023) == 0) {
      progress.update(files_[i]->name(), position(), total_, pipeline_.decode_stats().packets,
                      pipeline_.flow_stats().connections);
      if (pipeline_.output_failed()) break;
    }
    pipeline_.on_packet(p);
    // A steady trickle from a pipe never lets the reorder window fill: what
    // waited 200 ms goes on anyway, and the files keep up every second.
    if (streaming_) {
      const auto now = Clock::now();
      if (now - last_flush >= std::chrono::milliseconds(200)) {
        pipeline_.flush_window();
        last_flush = now;
      }
      if (now - last_tick_ >= std::chrono::seconds(1)) {
        pipeline_.tick(0);  // expires nothing (see on_idle)
        last_tick_ = now;
      }
    }
  }
  progress.clear();
}

/// pcapng files with Decryption Secrets Blocks before their first packet
/// (editcap --inject-secrets puts them there): their TLS key logs are read
/// now, so that TLS decryption is on without --tls-keylog. Pipes are not
/// looked into (their blocks are read once); their secrets count only with
/// --tls-keylog or -e tls.
/// Returns, per input, how many blocks were read (the main read skips them).
std::vector<uint64_t> read_embedded_secrets(const Options& opt, Pipeline& pipeline) {
  std::vector<uint64_t> blocks;
  for (const InputFile& in : opt.inputs) {
    blocks.push_back(0);
    struct stat st;
    if (in.path == "-" || stat(in.path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    std::string error;
    std::unique_ptr<CaptureFile> f = CaptureFile::open(in.path, error);
    if (!f || !f->is_pcapng()) continue;  // errors are told when it is read
    uint64_t& n = blocks.back();
    f->set_secrets_hook([&pipeline, &n](uint32_t type, std::span<const uint8_t> data) {
      ++n;
      pipeline.add_secrets(type, data);
    });
    RawPacket p;
    (void)f->next(p);  // every block up to the first packet
  }
  return blocks;
}

}  // namespace

int run_offline(const Options& opt) {
  Pipeline pipeline(opt);
  pipeline.set_streaming(any_streaming(opt.inputs));
  const std::vector<uint64_t> secrets_read = read_embedded_secrets(opt, pipeline);
  // Threads the pipeline starts (file writers) leave the stop signals to
  // this one, whose waits they interrupt.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const int open_rc = pipeline.open();
  install_stop_handlers();
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  if (open_rc != kExitOk) return open_rc;

  // While a pipe is silent, what has arrived is reordered, reassembled and
  // printed: nothing waits for packets that may not come.
  auto last_flush = Clock::now();
  auto on_idle = [&pipeline, &last_flush] {
    // Capture time drives expiry, and it stands still: tick(0) expires
    // nothing, it only hands the bytes so far to the files.
    pipeline.tick(0);
    std::fflush(stdout);
    last_flush = Clock::now();
    return !stop_requested();
  };
  // Every capture file is opened before privileges are dropped (-U/-z), so
  // root-only files and several -r files work alike.
  std::vector<std::unique_ptr<CaptureFile>> files;
  for (const InputFile& in : opt.inputs) {
    std::string error;
    files.push_back(stop_requested() ? nullptr : CaptureFile::open(in.path, error, on_idle));
    if (files.back()) {
      // Secrets later in the file join the key log as they are read.
      files.back()->set_secrets_hook(
          [&pipeline, skip = secrets_read[files.size() - 1]](
              uint32_t type, std::span<const uint8_t> data) mutable {
            if (skip > 0) {
              --skip;  // read before the run began
              return;
            }
            pipeline.add_secrets(type, data);
          });
    }
    pipeline.begin_source(files.back() ? files.back()->name() : in.path, in.finish_only);
    if (!files.back() && !stop_requested()) {
      diag::error(error);
      pipeline.set_input_error();
    }
  }
  if (!opt.user.empty()) {
    std::string error;
    if (!pipeline.drop_privileges(opt.user, opt.chroot_dir, error)) {
      diag::error(error);
      return kExitUsage;
    }
  }

  Progress progress(!opt.quiet);
  MergedRead read(pipeline, files);
  read.run(progress, last_flush);
  if (stop_requested() && !opt.quiet) {
    diag::notef("interrupted after %llu packets: finishing every connection and "
                 "writing the reports (interrupt again to exit at once)",
                 static_cast<unsigned long long>(read.packets()));
  }
  files.clear();
  return pipeline.finish();
}

}  // namespace tcpscribe
