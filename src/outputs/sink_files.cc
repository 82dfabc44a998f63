#include "sink_files.h"

#include <sys/resource.h>

#include <bit>
#include <cstdio>
#include <functional>

#include "name_template.h"

namespace tcpscribe {
namespace {

bool printable(uint8_t c) {
  return (c >= 0x20 && c < 0x7F) || c == '\n' || c == '\r' || c == '\t';
}

bool has(const std::string& t, const char* esc) { return t.find(esc) != std::string::npos; }

}  // namespace

FileSink::FileSink(FileSinkOptions o) : opt_(std::move(o)) {
  if (opt_.name_template.empty()) opt_.name_template = kDefaultTemplate;
  const std::string& t = opt_.name_template;
  names_unique_ = has(t, "%A") && has(t, "%a") && has(t, "%B") && has(t, "%b") &&
                  (has(t, "%c") || has(t, "%#"));
  size_t max_fds = opt_.max_fds;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    // Leave room for the capture files, stdio and libraries.
    const size_t allowed = rl.rlim_cur > 64 ? rl.rlim_cur - 32 : 16;
    if (max_fds == 0 || max_fds > allowed) max_fds = allowed;
  }
  if (max_fds == 0) max_fds = 16;
  writer_ = std::make_unique<FileWriter>(opt_.outdir_fd, opt_.outdir, opt_.writer_threads,
                                         max_fds, 16u << 20, opt_.writer_nice);
  conns_.reserve(1024);
}

FileSink::~FileSink() = default;

void FileSink::on_open(const Connection&) {}

FileSink::DirFile& FileSink::file_for(const Connection& c, Dir d) {
  DirFile& f = conns_[c.id].dir[index_of(d)];
  if (f.done) {
    // Bytes after the FIN (a bogus segment past it): the finished file is
    // continued, on the same writer thread.
    f.path = expand_name(opt_.name_template, c, d);
    f.path.erase(0, f.path.find_first_not_of('/'));
    f.continue_file = true;  // the writer's offsets start at the file's end
    f.submitted = false;
    f.done = false;
    f.shift += f.end;
    f.end = 0;
  } else if (f.path.empty()) {
    f.path = expand_name(opt_.name_template, c, d);
    // Names stay inside the output directory.
    f.path.erase(0, f.path.find_first_not_of('/'));
    // A file left by an earlier run is replaced, not suffixed; a name that
    // an earlier connection of this run produced (a template without %c)
    // is continued after what that connection wrote, on the same writer
    // thread so the two never race.
    // Routed by name: a file continued later (a connection --max-flows
    // evicted, then its later packets: Connection::continues) is written on
    // the thread that wrote its start.
    f.route = std::hash<std::string>{}(f.path);
    if (names_unique_) {
      f.continue_file = c.continues;
    } else {
      f.continue_file = !names_this_run_.insert(f.path).second || c.continues;
    }
  }
  return f;
}

void FileSink::submit(uint64_t id, DirFile& f, bool final, Timestamp mtime) {
  WriteJob job;
  job.file = id;
  if (!f.submitted) {
    // A final job is the direction's last use of its path: no copy.
    job.path = final ? std::move(f.path) : f.path;
    job.continue_file = f.continue_file;
    f.submitted = true;
  }
  job.offset = f.pending_offset;
  job.data = std::move(f.pending);
  f.pending.clear();
  job.views = std::move(f.views);
  f.views.clear();
  f.view_bytes = 0;
  job.keep = std::move(f.view_region);
  if (viewing_ == &f) viewing_ = nullptr;
  job.index = std::move(f.index);
  f.index.clear();
  job.final = final;
  job.extend_to = f.end;
  job.mtime_ns = mtime;
  pending_bytes_ -= f.charged;
  f.charged = 0;
  writer_->submit(std::move(job), f.route);
}

void FileSink::recharge(DirFile& f) {
  const size_t now = f.pending.capacity() + (opt_.write_index ? f.index.capacity() : 0);
  pending_bytes_ = pending_bytes_ - f.charged + now;
  f.charged = now;
  peak_pending_ = std::max(peak_pending_, pending_bytes_);
}

void FileSink::shed() {
  // One pass sorts the buffers into size classes (powers of two); the
  // largest classes go first, so a shed costs one walk of the connections
  // and writes the fewest, largest pieces.
  struct Held {
    uint64_t id;
    DirFile* f;
  };
  std::vector<Held> held;
  size_t by_class[64] = {};
  for (auto& [id, cf] : conns_) {
    for (int i = 0; i < 2; ++i) {
      DirFile& f = cf.dir[i];
      if (f.charged == 0) continue;
      held.push_back({id * 2 + static_cast<uint64_t>(i), &f});
      by_class[std::bit_width(f.charged) - 1] += f.charged;
    }
  }
  const size_t target = opt_.pending_budget / 2;
  if (pending_bytes_ <= target) return;
  size_t need = pending_bytes_ - target;
  int cls = 63;
  while (cls > 0 && by_class[cls] < need) need -= by_class[cls--];
  // Every buffer of a larger class goes, and of class `cls` what is needed.
  for (const Held& h : held) {
    const int k = static_cast<int>(std::bit_width(h.f->charged)) - 1;
    if (k < cls || (k == cls && need == 0)) continue;
    if (k == cls) need -= std::min(need, h.f->charged);
    submit(h.id, *h.f, false);
    ++budget_writes_;
  }
}

ByteRegionRef FileSink::by_reference(std::span<const uint8_t> bytes) const {
  if (!opt_.current || opt_.strip_nonprint || bytes.size() < opt_.view_at_least) return nullptr;
  return opt_.current->holding(bytes.data(), bytes.size());
}

void FileSink::append_copy(DirFile& f, uint64_t offset, std::span<const uint8_t> bytes) {
  if (f.pending.empty()) {
    f.pending_offset = offset;
    // A stream that fills whole chunks gets a recycled chunk-sized buffer
    // (no growing, no fresh pages); short flows keep small vectors.
    // Not when many such buffers would eat the budget.
    if (f.pending.capacity() < opt_.chunk_bytes &&
        (bytes.size() >= opt_.chunk_bytes / 4 || f.end >= opt_.chunk_bytes) &&
        pending_bytes_ + opt_.chunk_bytes * 2 <= opt_.pending_budget / 4) {
      f.pending = writer_->take_buffer(std::max(opt_.chunk_bytes * 2, bytes.size()));
    }
  }
  const size_t at = f.pending.size();
  f.pending.insert(f.pending.end(), bytes.begin(), bytes.end());
  if (opt_.strip_nonprint) {
    for (size_t i = at; i < f.pending.size(); ++i) {
      if (!printable(f.pending[i])) f.pending[i] = '.';
    }
  }
}

void FileSink::on_data(const Connection& c, Dir d, uint64_t offset,
                       std::span<const uint8_t> bytes, Timestamp ts) {
  DirFile& f = file_for(c, d);
  offset -= std::min(offset, f.shift);
  const uint64_t id = c.id * 2 + static_cast<uint64_t>(index_of(d));
  if (viewing_ && viewing_ != &f) submit(viewing_id_, *viewing_, false);
  ByteRegionRef region = by_reference(bytes);
  // A job is one contiguous run of stream bytes: its copied bytes, then
  // its bytes by reference, all in one region.
  if ((!f.pending.empty() || !f.views.empty()) &&
      (f.pending_offset + f.pending.size() + f.view_bytes != offset ||
       (!region && !f.views.empty()) ||
       (region && f.view_region && region != f.view_region))) {
    submit(id, f, false);
  }
  if (region) {
    if (f.pending.empty() && f.views.empty()) f.pending_offset = offset;
    f.views.push_back(bytes);
    f.view_bytes += bytes.size();
    f.view_region = std::move(region);
    viewing_ = &f;
    viewing_id_ = id;
  } else {
    append_copy(f, offset, bytes);
  }
  f.end = std::max(f.end, offset + bytes.size());
  if (opt_.write_index) {
    char line[96];
    std::snprintf(line, sizeof line, "%llu|%lld.%06lld|%zu\n",
                  static_cast<unsigned long long>(offset),
                  static_cast<long long>(ts / kNanosPerSecond),
                  static_cast<long long>(ts % kNanosPerSecond / 1000), bytes.size());
    f.index += line;
  }
  recharge(f);
  if (f.views.empty() ? f.pending.size() >= opt_.chunk_bytes
                      : f.pending.size() + f.view_bytes >= opt_.view_batch ||
                            f.views.size() >= FileWriter::kMaxViews) {
    submit(id, f, false);
  }
  if (pending_bytes_ > opt_.pending_budget) shed();
}

void FileSink::on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
                      Timestamp) {
  DirFile& f = file_for(c, d);
  offset -= std::min(offset, f.shift);
  f.end = std::max(f.end, offset + length);
}

void FileSink::on_shutdown(const Connection& c, Dir d, bool reset, Timestamp) {
  // After a RST, bytes before it may still fill holes: wait for on_close.
  if (reset) return;
  auto it = conns_.find(c.id);
  if (it == conns_.end()) return;
  DirFile& f = it->second.dir[index_of(d)];
  if (f.path.empty() || f.done) return;
  submit(c.id * 2 + static_cast<uint64_t>(index_of(d)), f, true, c.dir[index_of(d)].first_ts);
  f.done = true;
  f.pending = {};  // give the memory back: nothing more is expected
  f.index = {};
}

void FileSink::on_close(const Connection& c, CloseReason) {
  auto it = conns_.find(c.id);
  if (it == conns_.end()) return;
  for (int i = 0; i < 2; ++i) {
    DirFile& f = it->second.dir[i];
    if (f.done) continue;
    // Like tcpflow, a file carries the time of its direction's first packet.
    if (!f.path.empty()) submit(c.id * 2 + static_cast<uint64_t>(i), f, true, c.dir[i].first_ts);
  }
  conns_.erase(it);
}

void FileSink::flush_pending() {
  for (auto& [id, cf] : conns_) {
    for (int i = 0; i < 2; ++i) {
      const DirFile& f = cf.dir[i];
      if (!f.pending.empty() || !f.views.empty()) {
        submit(id * 2 + static_cast<uint64_t>(i), cf.dir[i], false);
      }
    }
  }
  writer_->kick();
}

void FileSink::finish() {
  for (auto& [id, cf] : conns_) {
    for (int i = 0; i < 2; ++i) {
      if (!cf.dir[i].path.empty() && !cf.dir[i].done) {
        submit(id * 2 + static_cast<uint64_t>(i), cf.dir[i], true);
      }
    }
  }
  conns_.clear();
  writer_->drain();
}

}  // namespace tcpscribe
