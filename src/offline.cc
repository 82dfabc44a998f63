#include "offline.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "capture_file.h"
#include "input_merge.h"
#include "pipeline.h"
#include "privileges.h"
#include "progress.h"

namespace tcpscribe {
namespace {

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
      size_unknown = size_unknown || f->size() == 0;
      total_ += f->size();
    }
    if (size_unknown) total_ = 0;
    merge_ = std::make_unique<InputMerge>(std::move(sources));
  }

  /// Until every input ends or output fails.
  void run(Progress& progress);
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
  uint64_t total_ = 0;  // bytes in all inputs, 0 when one is a pipe
  uint64_t done_ = 0;   // bytes of the inputs already closed
  uint64_t packets_ = 0;
};

void MergedRead::run(Progress& progress) {
  RawPacket p;
  size_t i = 0;
  for (;;) {
    const InputMerge::Status st = merge_->next(p, i);
    if (st == InputMerge::Status::kEnd) break;
    if (st == InputMerge::Status::kError) {
      progress.clear();
      std::fprintf(stderr, "tcpscribe: %s; everything before it is written\n",
                   files_[i]->error().c_str());
      pipeline_.set_input_error();
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
  }
  progress.clear();
}

}  // namespace

int run_offline(const Options& opt) {
  Pipeline pipeline(opt);
  if (const int rc = pipeline.open(); rc != kExitOk) return rc;

  // Every capture file is opened before privileges are dropped (-U/-z), so
  // root-only files and several -r files work alike.
  std::vector<std::unique_ptr<CaptureFile>> files;
  for (const InputFile& in : opt.inputs) {
    std::string error;
    files.push_back(CaptureFile::open(in.path, error));
    pipeline.begin_source(files.back() ? files.back()->name() : in.path, in.finish_only);
    if (!files.back()) {
      std::fprintf(stderr, "tcpscribe: %s\n", error.c_str());
      pipeline.set_input_error();
    }
  }
  if (!opt.user.empty()) {
    std::string error;
    if (!drop_privileges(opt.user, opt.chroot_dir, pipeline.outdir_fd(),
                         pipeline.created_outdir(), error)) {
      std::fprintf(stderr, "tcpscribe: %s\n", error.c_str());
      return kExitUsage;
    }
  }

  Progress progress(!opt.quiet);
  MergedRead read(pipeline, files);
  read.run(progress);
  files.clear();
  return pipeline.finish();
}

}  // namespace tcpscribe
