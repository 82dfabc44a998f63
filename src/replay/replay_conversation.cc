#include "replay_conversation.h"

#include <map>
#include <memory>

#include "capture_file.h"
#include "input_merge.h"
#include "netrecord.h"
#include "packet_core.h"
#include "tcpscribe/sink.h"

namespace tcpscribe {

bool load_netrecord_conversation(const std::string& path, Conversation& out,
                                 std::string& error, bool keep_server_data,
                                 bool keep_client_data) {
  NetrecordReader reader;
  if (!reader.open(path)) {
    error = reader.error();
    return false;
  }
  out = Conversation{};
  out.name = path;
  if (!keep_server_data || !keep_client_data) out.log_path = path;
  NetrecordRecord r;
  NetrecordReader::Status st;
  size_t records = 0;
  while ((st = reader.next(r)) == NetrecordReader::Status::kRecord) {
    if (records++ == 0) out.start_us = r.micros;
    ConvEvent e;
    e.side = r.side;
    e.micros = r.micros;
    switch (r.kind) {
      case NetrecordRecord::Kind::kConnect:
        continue;
      case NetrecordRecord::Kind::kData:
        e.kind = ConvEvent::Kind::kData;
        e.data = std::move(r.data);
        if (r.truncated) {
          out.warnings.push_back("the log ends inside a data record (" +
                                 std::to_string(e.data.size()) + " of " +
                                 std::to_string(r.declared) + " bytes)");
        }
        if (e.data.empty()) continue;
        if (!(e.side == 's' ? keep_server_data : keep_client_data)) {
          e.left_out = e.data.size();
          e.log_offset = r.offset;
          std::string().swap(e.data);
        }
        break;
      case NetrecordRecord::Kind::kHangup:
        e.kind = ConvEvent::Kind::kHangup;
        break;
      case NetrecordRecord::Kind::kError:
        e.kind = ConvEvent::Kind::kReset;
        break;
    }
    out.events.push_back(std::move(e));
  }
  if (st != NetrecordReader::Status::kEnd) {
    if (records == 0) {
      error = path + ": not a netrecord log: " + reader.error();
      return false;
    }
    out.warnings.push_back("damaged after " + std::to_string(records) +
                           " records, replayed up to there: " + reader.error());
  } else if (records == 0) {
    error = path + ": empty netrecord log";
    return false;
  } else if (reader.ended_mid_record() && out.warnings.empty()) {
    out.warnings.push_back("the log ends inside a record header");
  }
  return true;
}

namespace {

/// Collects, per connection, the chunks in the order they were delivered.
class ConversationSink : public Sink {
 public:
  explicit ConversationSink(std::string label) : label_(std::move(label)) {}

  void on_open(const Connection& c) override {
    State& s = open_[c.id];
    s.conv.name = label_ + " " + format_endpoint(c.client) + "-" + format_endpoint(c.server);
    s.conv.start_us = c.first_ts / 1000;
  }
  void on_data(const Connection& c, Dir d, uint64_t, std::span<const uint8_t> bytes,
               Timestamp ts) override {
    State& s = open_[c.id];
    const char side = d == Dir::kClientToServer ? 'c' : 's';
    if (side == 'c' && s.client_cut) return;
    ConvEvent e;
    e.side = side;
    e.micros = ts / 1000;
    e.data.assign(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    s.conv.events.push_back(std::move(e));
  }
  void on_gap(const Connection& c, Dir d, uint64_t offset, uint64_t length,
              Timestamp ts) override {
    State& s = open_[c.id];
    if (d == Dir::kClientToServer) {
      if (!s.client_cut) {
        s.conv.warnings.push_back("the client's bytes have a hole at offset " +
                                  std::to_string(offset) + "; replayed up to there");
      }
      s.client_cut = true;
      return;
    }
    s.conv.warnings.push_back("the server's bytes have a hole of " + std::to_string(length) +
                              " bytes at offset " + std::to_string(offset) +
                              " (counted as zeros)");
    ConvEvent e;
    e.side = 's';
    e.micros = ts / 1000;
    e.data.assign(length > (64u << 20) ? (64u << 20) : length, '\0');
    s.conv.events.push_back(std::move(e));
  }
  void on_shutdown(const Connection& c, Dir d, bool reset, Timestamp ts) override {
    State& s = open_[c.id];
    const char side = d == Dir::kClientToServer ? 'c' : 's';
    if (side == 'c' && s.client_cut) return;
    ConvEvent e;
    e.side = side;
    e.micros = ts / 1000;
    e.kind = reset ? ConvEvent::Kind::kReset : ConvEvent::Kind::kHangup;
    s.conv.events.push_back(std::move(e));
  }
  void on_close(const Connection& c, CloseReason) override {
    auto it = open_.find(c.id);
    if (it == open_.end()) return;
    if (!c.handshake_seen) {  // known only once the first segment is handled
      it->second.conv.warnings.insert(it->second.conv.warnings.begin(),
                                      "its start was not captured (no SYN)");
    }
    done_.emplace(c.id, std::move(it->second.conv));
    open_.erase(it);
  }

  /// Conversations in order of their first packet.
  std::vector<Conversation> take() {
    std::vector<Conversation> v;
    for (auto& [id, conv] : done_) v.push_back(std::move(conv));
    return v;
  }

 private:
  struct State {
    Conversation conv;
    bool client_cut = false;
  };
  std::string label_;
  std::map<uint64_t, State> open_;
  std::map<uint64_t, Conversation> done_;
};

}  // namespace

bool load_capture_conversations(const std::vector<std::string>& files,
                                const std::string& filter,
                                std::vector<Conversation>& out, std::string& error) {
  std::vector<std::unique_ptr<CaptureFile>> caps;
  for (const std::string& f : files) {
    caps.push_back(CaptureFile::open(f, error));
    if (!caps.back()) return false;
  }
  ConversationSink sink(files.size() == 1 ? files[0] : files[0] + "+");
  PacketCoreConfig config;
  config.filter = filter;
  PacketCore core(config, {&sink});
  if (!core.compile_filter(error)) return false;
  // Several captures are one capture merged by time, as for the passive modes.
  std::vector<PacketSource*> sources;
  for (auto& cap : caps) {
    core.add_source(cap->name(), false);
    sources.push_back(cap.get());
  }
  InputMerge merge(std::move(sources));
  RawPacket p;
  size_t index = 0;
  for (;;) {
    const InputMerge::Status st = merge.next(p, index);
    if (st == InputMerge::Status::kEnd) break;
    if (st == InputMerge::Status::kError) {
      error = caps[index]->error();
      return false;
    }
    if (st == InputMerge::Status::kPacket) core.on_packet(p);
  }
  core.finish();
  out = sink.take();
  return true;
}

}  // namespace tcpscribe
