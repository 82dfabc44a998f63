#include "replay_plan.h"

#include <cmath>

#include "replay_framed.h"

namespace tcpscribe {

int64_t scale_micros(int64_t micros, double speed) {
  if (micros <= 0) return 0;
  return static_cast<int64_t>(std::llround(static_cast<double>(micros) / speed));
}

ReplayPlan make_plan(const Conversation& conv, int64_t set_start_us, Timing timing,
                     double speed, const std::vector<ReplaceRule>& rules) {
  ReplayPlan plan;
  plan.name = conv.name;
  plan.log = conv.log_path;
  plan.warnings = conv.warnings;
  if (timing == Timing::kOriginal) plan.start_us = scale_micros(conv.start_us - set_start_us, speed);

  // First pass: the recorded wait before each client event.
  struct ClientEvent {
    const ConvEvent* ev;
    uint64_t server_before;
    bool server_closed_before;
  };
  std::vector<ClientEvent> client;
  uint64_t server_bytes = 0;
  bool client_done = false;
  for (const ConvEvent& e : conv.events) {
    if (e.side == 's') {
      if (e.kind == ConvEvent::Kind::kData) {
        server_bytes += e.size();
        if (e.left_out > 0) plan.answer_in_log = true;
        plan.recorded_answer += e.data;
      } else {
        plan.server_closed = true;
        plan.server_reset = e.kind == ConvEvent::Kind::kReset;
      }
      continue;
    }
    if (client_done) continue;  // nothing follows a client's hup or err
    client.push_back({&e, server_bytes, plan.server_closed});
    if (e.kind != ConvEvent::Kind::kData) client_done = true;
  }

  plan.recorded_answer_bytes = server_bytes;

  // Second pass: steps, with the replacer flushed at every point where the
  // recorded server spoke (or closed) before the next client event. RESP
  // and HTTP clients get the framing-aware replacer (length fields kept
  // right), decided from their first bytes.
  std::string first;
  for (const ClientEvent& c : client) {
    if (c.ev->kind != ConvEvent::Kind::kData) break;
    first.append(c.ev->data, 0, 4096 - first.size());
    if (first.size() >= 4096 || first.find("\r\n") != std::string::npos) break;
  }
  plan.framing = rules.empty() ? Framing::kPlain : detect_framing(first);
  FramedReplacer chain(plan.framing, rules);
  for (size_t i = 0; i < client.size(); ++i) {
    const ConvEvent& e = *client[i].ev;
    ReplayStep step;
    if (timing != Timing::kNone) {
      step.wait_server_bytes = client[i].server_before;
      step.wait_server_close = client[i].server_closed_before;
    }
    if (timing == Timing::kOriginal) step.at_us = scale_micros(e.micros - conv.start_us, speed);
    if (e.kind == ConvEvent::Kind::kData) {
      step.kind = ReplayStep::Kind::kSend;
      step.recorded_bytes = e.size();
      if (e.left_out > 0) {  // sent from the log as it was (no --replace)
        step.from_log = true;
        step.log_offset = e.log_offset;
        plan.steps.push_back(std::move(step));
        continue;
      }
      chain.feed(e.data, step.bytes);
      const bool last = i + 1 == client.size();
      const bool boundary =
          last || client[i + 1].ev->kind != ConvEvent::Kind::kData ||
          client[i + 1].server_before != client[i].server_before ||
          client[i + 1].server_closed_before != client[i].server_closed_before;
      if (boundary) chain.flush(step.bytes);
    } else {
      step.kind = e.kind == ConvEvent::Kind::kHangup ? ReplayStep::Kind::kHangup
                                                      : ReplayStep::Kind::kReset;
    }
    plan.steps.push_back(std::move(step));
  }
  if (!chain.fallback().empty()) {
    plan.warnings.push_back(std::string("--replace: ") + framing_name(plan.framing) +
                            " framing given up (" + chain.fallback() +
                            "): the rest was rewritten as plain bytes");
  }
  plan.reframed = chain.reframed();
  return plan;
}

}  // namespace tcpscribe
