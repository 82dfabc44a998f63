// FLOW-<LAYER> files: an inner stream an analyzer uncovered (TLS's
// plaintext: FLOW-TLS) beside the flow file FLOW of the same direction,
// each byte at its own offset in the inner stream (a hole stays a hole:
// zero bytes when read). The flow file itself keeps the wire's bytes.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>

#include "tcpscribe/sink.h"

namespace tcpscribe {

class InnerFilesSink final : public Sink {
 public:
  /// Files are created through `outdir_fd` (not owned), named by
  /// `name_template` (name_template.h) plus "-" + layer.
  InnerFilesSink(int outdir_fd, std::string name_template, size_t max_open = 64);
  ~InnerFilesSink() override;
  InnerFilesSink(const InnerFilesSink&) = delete;
  InnerFilesSink& operator=(const InnerFilesSink&) = delete;

  /// The inner stream's bytes (AnalyzerOutput::inner_data).
  void inner_data(const Connection& c, const char* layer, Dir d, uint64_t offset,
                  std::span<const uint8_t> bytes);

  void on_open(const Connection&) override {}
  void on_data(const Connection&, Dir, uint64_t, std::span<const uint8_t>, Timestamp) override {}
  void on_gap(const Connection&, Dir, uint64_t, uint64_t, Timestamp) override {}
  void on_close(const Connection& c, CloseReason why) override;
  void finish() override;
  std::string failure() const override { return error_; }
  uint64_t files_created() const { return created_; }

 private:
  struct File {
    std::string path;
    int fd = -1;
    bool created = false;  // later opens keep what is there
  };
  int fd_for(File& f);
  void close_all_open();

  int dir_fd_;
  std::string template_;
  size_t max_open_;
  size_t open_ = 0;
  uint64_t created_ = 0;
  std::string error_;
  // By (connection id, direction, layer).
  std::map<std::pair<uint64_t, int>, std::map<std::string, File>> files_;
};

}  // namespace tcpscribe
