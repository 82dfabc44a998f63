#include "offline.h"

#include <cstdio>
#include <memory>
#include <vector>

#include "capture_file.h"
#include "pipeline.h"
#include "privileges.h"
#include "progress.h"

namespace tcpscribe {

int run_offline(const Options& opt) {
  Pipeline pipeline(opt);
  if (const int rc = pipeline.open(); rc != kExitOk) return rc;

  // Every capture file is opened before privileges are dropped (-U/-z), so
  // root-only files and several -r files work alike.
  std::vector<std::unique_ptr<CaptureFile>> files;
  for (const InputFile& in : opt.inputs) {
    std::string error;
    files.push_back(CaptureFile::open(in.path, error));
    if (!files.back()) {
      std::fprintf(stderr, "tcpscribe: %s\n", error.c_str());
      pipeline.set_input_error();
    }
  }
  if (!opt.user.empty()) {
    std::string error;
    if (!pipeline.drop_privileges(opt.user, opt.chroot_dir, error)) {
      std::fprintf(stderr, "tcpscribe: %s\n", error.c_str());
      return kExitUsage;
    }
  }

  Progress progress;
  for (size_t i = 0; i < files.size(); ++i) {
    CaptureFile* cap = files[i].get();
    if (!cap) continue;
    pipeline.begin_source(cap->name(), opt.inputs[i].finish_only);
    RawPacket p;
    ReadStatus rs;
    uint64_t n = 0;
    while ((rs = cap->next(p)) == ReadStatus::kPacket) {
      if ((++n & 1023) == 0) {
        progress.update(cap->name(), cap->position(), cap->size(),
                        pipeline.decode_stats().packets, pipeline.flow_stats().connections);
        if (pipeline.output_failed()) break;
      }
      pipeline.on_packet(p);
    }
    pipeline.flush_window();
    progress.clear();
    if (rs == ReadStatus::kError) {
      std::fprintf(stderr, "tcpscribe: %s; everything before it is written\n",
                   cap->error().c_str());
      pipeline.set_input_error();
    }
    files[i].reset();
    if (pipeline.output_failed()) break;
  }
  return pipeline.finish();
}

}  // namespace tcpscribe
