// Replay's plan (src/replay/replay_plan) built from a conversation the
// input describes: events (side, data / hangup / reset, time), --replace
// rules, pacing and speed. Properties:
//  - one step per client event up to and including the client's first
//    hangup or reset; the recorded answer is all the server's data;
//  - the bytes sent are the client's bytes with the rules applied, each
//    rule in turn, non-overlapping, left to right, to each run of client
//    data between points where the server spoke or closed (a match may
//    span chunks, never such a point): checked against a plain
//    find-and-replace;
//  - waits never exceed what the server sent, and never go down.
#include <fuzzer/FuzzedDataProvider.h>

#include <string>
#include <vector>

#include "fuzz_check.h"
#include "replay_plan.h"

using namespace tcpscribe;

namespace {

std::string replace_all(const std::string& in, const ReplaceRule& r) {
  std::string out;
  size_t at = 0;
  for (;;) {
    const size_t hit = in.find(r.from, at);
    if (hit == std::string::npos) break;
    out.append(in, at, hit - at);
    out += r.to;
    at = hit + r.from.size();
  }
  out.append(in, at);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const auto cfg = in.ConsumeIntegral<uint8_t>();
  const Timing timing = cfg % 3 == 0 ? Timing::kConversational
                        : cfg % 3 == 1 ? Timing::kOriginal : Timing::kNone;
  const double speed = 0.25 * (1 + (cfg >> 2 & 15));
  std::vector<ReplaceRule> rules(cfg >> 6);
  for (ReplaceRule& r : rules) {
    r.from = in.ConsumeRandomLengthString(6);
    if (r.from.empty()) r.from = "a";
    r.to = in.ConsumeRandomLengthString(6);
  }
  Conversation conv;
  conv.name = "fuzz";
  conv.start_us = in.ConsumeIntegralInRange<int64_t>(0, 1'000'000);
  int64_t t = conv.start_us;
  while (in.remaining_bytes() > 0 && conv.events.size() < 200) {
    ConvEvent e;
    const auto op = in.ConsumeIntegral<uint8_t>();
    e.side = (op & 1) ? 's' : 'c';
    e.kind = (op >> 1 & 7) == 0 ? ConvEvent::Kind::kHangup
             : (op >> 1 & 7) == 1 ? ConvEvent::Kind::kReset : ConvEvent::Kind::kData;
    t += in.ConsumeIntegralInRange<int64_t>(0, 2'000'000);
    e.micros = t;
    if (e.kind == ConvEvent::Kind::kData) e.data = in.ConsumeRandomLengthString(64);
    conv.events.push_back(std::move(e));
  }
  const ReplayPlan plan = make_plan(conv, 0, timing, speed, rules);

  // What the plan should be, computed plainly.
  std::string answer, expected, run;
  uint64_t server_bytes = 0, bytes_at_last = 0;
  bool server_closed = false, closed_at_last = false;
  size_t client_events = 0;
  bool client_done = false;
  const auto end_run = [&] {
    for (const ReplaceRule& r : rules) run = replace_all(run, r);
    expected += run;
    run.clear();
  };
  for (const ConvEvent& e : conv.events) {
    if (e.side == 's') {
      if (e.kind == ConvEvent::Kind::kData) answer += e.data, server_bytes += e.data.size();
      else server_closed = true;
      continue;
    }
    if (client_done) continue;
    // The server answered (or closed) since the last client event.
    if (server_bytes != bytes_at_last || server_closed != closed_at_last) end_run();
    bytes_at_last = server_bytes;
    closed_at_last = server_closed;
    ++client_events;
    if (e.kind != ConvEvent::Kind::kData) {
      end_run();
      client_done = true;
      continue;
    }
    run += e.data;
  }
  end_run();

  FUZZ_CHECK(plan.steps.size() == client_events, "%zu steps for %zu client events",
             plan.steps.size(), client_events);
  FUZZ_CHECK(plan.recorded_answer == answer, "the recorded answer is not the server's data");
  std::string sent;
  uint64_t last_wait = 0;
  int64_t last_at = -1;
  for (const ReplayStep& s : plan.steps) {
    if (s.kind == ReplayStep::Kind::kSend) sent += s.bytes;
    FUZZ_CHECK(s.wait_server_bytes <= server_bytes && s.wait_server_bytes >= last_wait,
               "a wait for %llu server bytes", static_cast<unsigned long long>(s.wait_server_bytes));
    last_wait = s.wait_server_bytes;
    FUZZ_CHECK(timing != Timing::kNone || (s.wait_server_bytes == 0 && !s.wait_server_close),
               "a wait without pacing");
    FUZZ_CHECK(timing == Timing::kOriginal ? s.at_us >= last_at && s.at_us >= 0 : s.at_us == -1,
               "step time %lld", static_cast<long long>(s.at_us));
    last_at = s.at_us;
  }
  if (plan.framing == Framing::kPlain) {
    FUZZ_CHECK(sent == expected, "sent %zu bytes, expected %zu", sent.size(), expected.size());
  } else {
    // RESP / HTTP framing rewrites inside messages and fixes their lengths;
    // where no rule matches anything, it sends the client's bytes unchanged.
    std::string original;
    for (const ConvEvent& e : conv.events) {
      if (e.side != 's' && e.kind == ConvEvent::Kind::kData) original += e.data;
      if (e.side != 's' && e.kind != ConvEvent::Kind::kData) break;
    }
    if (expected == original) {
      FUZZ_CHECK(sent == original, "%s framing changed %zu bytes no rule matches",
                 framing_name(plan.framing), original.size());
    }
  }
  return 0;
}
