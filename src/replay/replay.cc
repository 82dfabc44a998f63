#include "replay.h"

#include <sys/socket.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>

#include "diag.h"
#include "progress.h"
#include "replay_answer.h"
#include "replay_answer_count.h"
#include "json_text.h"
#include "netrecord.h"
#include "net_util.h"
#include "replay_compare.h"
#include "replay_engine.h"
#include "replay_options.h"
#include "replay_plan.h"

namespace tcpscribe {

namespace {

bool resolve_target(const ReplayOptions& opt, EngineOptions& eo, std::string& error) {
  std::vector<SocketAddress> found;
  if (!resolve_tcp(opt.target_host, opt.target_port, false, found, error)) return false;
  std::memcpy(&eo.target, &found.front().sa, found.front().len);
  eo.target_len = found.front().len;
  eo.target_text = opt.target;
  return true;
}

/// The inputs' conversations. A capture that cannot be read stops the run;
/// a damaged netrecord log is reported (one line each, in `damaged`) and the
/// others are replayed: the exit status still says an input was damaged.
bool load_inputs(const ReplayOptions& opt, std::vector<Conversation>& convs,
                 std::vector<std::string>& damaged) {
  std::string error;
  if (!opt.captures.empty()) {
    if (!load_capture_conversations(opt.captures, opt.filter, convs, error)) {
      diag::error(error);
      return false;
    }
    if (convs.empty()) {
      diag::errorf("no TCP connection in the capture%s matches",
                   opt.captures.size() > 1 ? "s" : "");
      return false;
    }
    return true;
  }
  for (const std::string& path : opt.logs) {
    Conversation c;
    // --replace rewrites the client's bytes: only then are they loaded.
    if (!load_netrecord_conversation(path, c, error, false, !opt.replace.empty())) {
      diag::errorf("%s; not replayed (the other logs are)", error.c_str());
      damaged.push_back(path);
      continue;
    }
    convs.push_back(std::move(c));
  }
  return !convs.empty();
}

/// The q-quantile (nearest rank) of the samples' errors, in microseconds.
double quantile_us(std::vector<int64_t>& errs, double q) {
  if (errs.empty()) return 0;
  std::sort(errs.begin(), errs.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(errs.size())));
  rank = std::clamp<size_t>(rank, 1, errs.size());
  return static_cast<double>(errs[rank - 1]) / 1000.0;
}

struct TimingStats {
  size_t n = 0;
  double p50 = 0, p99 = 0, max = 0;  // microseconds
};

TimingStats timing_stats(const std::vector<TimingSample>& samples) {
  std::vector<int64_t> errs;
  for (const TimingSample& s : samples) errs.push_back(std::abs(s.actual_ns - s.scheduled_ns));
  TimingStats t;
  t.n = errs.size();
  t.p50 = quantile_us(errs, 0.50);
  t.p99 = quantile_us(errs, 0.99);
  t.max = quantile_us(errs, 1.0);
  return t;
}

std::string json_string(std::string_view s) {
  JsonStringStyle raw;
  raw.bytes_as_latin1 = true;
  std::string out;
  append_json_string(out, s, raw);
  return out;
}

const char* timing_name(Timing t) {
  switch (t) {
    case Timing::kConversational: return "conversational";
    case Timing::kOriginal: return "original";
    case Timing::kNone: return "none";
  }
  return "?";
}

struct Outcome {
  std::string name;
  AnswerProtocol protocol = AnswerProtocol::kNone;
  uint64_t recorded_answers = 0, recorded_errors = 0;
  const JobResult* result = nullptr;
  bool compared = false;
  Difference diff;
};

bool write_json(const ReplayOptions& opt, const std::vector<Outcome>& outs,
                const EngineResult& er, std::string& error) {
  FILE* f = opt.json_path == "-" ? stdout : std::fopen(opt.json_path.c_str(), "w");
  if (!f) {
    error = opt.json_path + ": " + std::strerror(errno);
    return false;
  }
  const TimingStats sends = timing_stats(er.sends);
  const TimingStats starts = timing_stats(er.starts);
  std::fprintf(f, "{\"target\":%s,\"timing\":\"%s\",\"speed\":%g,\"elapsed_us\":%" PRId64 ",\n",
               json_string(opt.target).c_str(), timing_name(opt.timing), opt.speed,
               er.elapsed_ns / 1000);
  std::fprintf(f,
               "\"send_error_us\":{\"samples\":%zu,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f,"
               "\"held_by_target\":%" PRIu64 "},\n",
               sends.n, sends.p50, sends.p99, sends.max, er.sends_held_by_target);
  std::fprintf(f, "\"start_error_us\":{\"samples\":%zu,\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},\n",
               starts.n, starts.p50, starts.p99, starts.max);
  std::fprintf(f, "\"connections\":[");
  for (size_t i = 0; i < outs.size(); ++i) {
    const Outcome& o = outs[i];
    const JobResult& r = *o.result;
    const char* status = r.status == JobResult::Status::kDone ? "done"
                         : r.status == JobResult::Status::kConnectFailed ? "connect_failed"
                                                                         : "failed";
    std::fprintf(f,
                 "%s\n {\"index\":%zu,\"name\":%s,\"status\":\"%s\",\"error\":%s,"
                 "\"sent_bytes\":%" PRIu64 ",\"received_bytes\":%" PRIu64
                 ",\"timeouts\":%" PRIu64 ",\"settled\":%" PRIu64 ",\"record\":%s",
                 i ? "," : "", i, json_string(o.name).c_str(), status,
                 json_string(r.error).c_str(), r.sent_bytes, r.received_bytes,
                 r.waits_timed_out, r.waits_settled, json_string(r.record_path).c_str());
    if (o.protocol != AnswerProtocol::kNone) {
      std::fprintf(f,
                   ",\"protocol\":\"%s\",\"answers\":%" PRIu64 ",\"error_answers\":%" PRIu64
                   ",\"recorded_answers\":%" PRIu64 ",\"recorded_error_answers\":%" PRIu64,
                   answer_protocol_name(o.protocol), r.answers, r.error_answers, o.recorded_answers,
                   o.recorded_errors);
    }
    if (o.compared) {
      std::fprintf(f, ",\"compare\":\"%s\"", o.diff.same ? "same" : "differs");
      if (!o.diff.same) {
        std::fprintf(f, ",\"recorded_offset\":%" PRIu64 ",\"target_offset\":%" PRIu64,
                     o.diff.recorded_offset, o.diff.target_offset);
      }
    }
    std::fprintf(f, "}");
  }
  std::fprintf(f, "],\n\"sends\":[");
  for (size_t i = 0; i < er.sends.size(); ++i) {
    const TimingSample& s = er.sends[i];
    std::fprintf(f, "%s\n {\"connection\":%zu,\"step\":%zu,\"scheduled_us\":%.3f,\"actual_us\":%.3f}",
                 i ? "," : "", s.job, s.step, static_cast<double>(s.scheduled_ns) / 1000.0,
                 static_cast<double>(s.actual_ns) / 1000.0);
  }
  std::fprintf(f, "]}\n");
  const bool ok = std::fflush(f) == 0 && !std::ferror(f);
  if (f != stdout) std::fclose(f);
  if (!ok) error = opt.json_path + ": write failed";
  return ok;
}

/// Step 3: the target's address and the engine's settings; checks that
/// --record can write. Returns kExitOk or the exit code after one line.
int prepare_engine(const ReplayOptions& opt, EngineOptions& eo) {
  std::string error;
  if (!resolve_target(opt, eo, error)) {
    diag::error(error);
    return kExitStart;
  }
  eo.response_timeout_ns = static_cast<int64_t>(opt.response_timeout * 1e9);
  eo.connect_timeout_ns = static_cast<int64_t>(opt.connect_timeout * 1e9);
  eo.settle_ns = static_cast<int64_t>(opt.settle * 1e9);
  eo.concurrency = opt.concurrency;
  eo.record_root = opt.record_root;
  eo.realtime = opt.realtime;
  if (!opt.record_root.empty()) {
    if (const std::string why = NetrecordFiles(opt.record_root).check_writable(); !why.empty()) {
      diag::errorf("--record: %s", why.c_str());
      return kExitOutput;
    }
  }
  return kExitOk;
}

/// Step 4: pacing and rewriting, decided from the recordings alone.
std::vector<ReplayPlan> make_plans(const ReplayOptions& opt,
                                   const std::vector<Conversation>& convs) {
  int64_t set_start = INT64_MAX;
  for (const Conversation& c : convs) set_start = std::min(set_start, c.start_us);
  std::vector<ReplayPlan> plans;
  for (const Conversation& c : convs) {
    plans.push_back(make_plan(c, set_start, opt.timing, opt.speed, opt.replace));
    count_recorded_answers(plans.back());
    for (const std::string& w : plans.back().warnings) {
      diag::errorf("%s: warning: %s", c.name.c_str(), w.c_str());
    }
  }
  return plans;
}

/// --compare of one job: the target's answer is compared as it arrives
/// against the recorded one, read from its log a piece at a time to stay
/// about level with it, so neither is ever held whole.
struct Comparison {
  Comparison(const Masker& m, const ReplayPlan& plan) : cmp(m), recorded(plan) {}
  StreamComparer cmp;
  AnswerReader recorded;
  /// Reads the recorded answer on until it is `upto` bytes long (or ends).
  void pull(uint64_t upto) {
    while (!cmp.decided() && !recorded.done() && cmp.recorded_bytes() < upto) {
      cmp.recorded(recorded.next());
    }
  }
};

struct Tally {
  size_t failed = 0, differ = 0, same = 0;
  size_t more_errors = 0;          // connections with more error answers than recorded
  uint64_t error_answers = 0, recorded_errors = 0;
  bool counted = false;            // some plan's answers could be counted
  uint64_t sent = 0, received = 0;
};

/// Step 6: one outcome per job, in input order: failures and slow answers
/// on stderr, the comparison (or -v's counts) on stdout.
Tally judge(const ReplayOptions& opt, const std::vector<ReplayJob>& jobs,
            const EngineResult& er, std::vector<std::unique_ptr<Comparison>>& cmps,
            std::vector<Outcome>& outs) {
  Tally t;
  // `--json -` owns stdout (a jq pipeline must get JSON alone): the
  // per-connection lines then go to stderr.
  FILE* text = opt.json_path == "-" ? stderr : stdout;
  for (size_t i = 0; i < jobs.size(); ++i) {
    Outcome o;
    o.name = jobs[i].plan->name;
    if (opt.repeat > 1) o.name += " #" + std::to_string(jobs[i].iteration + 1);
    o.result = &er.jobs[i];
    o.protocol = jobs[i].plan->protocol;
    o.recorded_answers = jobs[i].plan->recorded_answers;
    o.recorded_errors = jobs[i].plan->recorded_errors;
    const JobResult& r = er.jobs[i];
    t.sent += r.sent_bytes;
    t.received += r.received_bytes;
    if (r.status != JobResult::Status::kDone) {
      ++t.failed;
      diag::errorf("%s: %s", o.name.c_str(), r.error.c_str());
      outs.push_back(std::move(o));
      continue;
    }
    if (r.waits_timed_out > 0) {
      diag::errorf("%s: warning: waited %gs for the target's answer (%" PRIu64
                   " bytes expected in total, %" PRIu64 " came)%s",
                   o.name.c_str(), opt.response_timeout, r.first_timeout_wanted,
                   r.first_timeout_had,
                   r.waits_timed_out > 1
                       ? (", and " + std::to_string(r.waits_timed_out - 1) + " more times").c_str()
                       : "");
    }
    const ReplayPlan& plan = *jobs[i].plan;
    if (plan.protocol != AnswerProtocol::kNone) {
      t.counted = true;
      t.error_answers += r.error_answers;
      t.recorded_errors += plan.recorded_errors;
      if (r.error_answers > plan.recorded_errors && !r.answers_lost) {
        ++t.more_errors;
        diag::errorf("%s: %s: the target gave %" PRIu64 " error answer%s, the recording %" PRIu64,
                     o.name.c_str(), opt.compare ? "differs" : "warning", r.error_answers,
                     r.error_answers == 1 ? "" : "s", plan.recorded_errors);
      }
    }
    if (opt.compare) {
      o.compared = true;
      Comparison& c = *cmps[i];
      c.pull(UINT64_MAX);
      o.diff = c.cmp.finish();
      if (!c.recorded.error().empty()) {
        diag::errorf("%s: warning: the recorded answer could not be read again after %" PRIu64
                     " bytes: %s", o.name.c_str(), c.recorded.given(), c.recorded.error().c_str());
      }
      if (o.diff.same) {
        ++t.same;
        std::fprintf(text, "%s: same\n", o.name.c_str());
      } else {
        ++t.differ;
        std::fprintf(text, "%s: differs at byte %" PRIu64 " of the recorded answer (%" PRIu64
                     " bytes), byte %" PRIu64 " of the target's (%" PRIu64
                     " bytes)\n  recorded: %s\n  target:   %s\n",
                    o.name.c_str(), o.diff.recorded_offset, jobs[i].plan->recorded_answer_bytes,
                    o.diff.target_offset, r.received_bytes, o.diff.recorded_context.c_str(),
                    o.diff.target_context.c_str());
      }
    } else if (opt.verbose) {
      std::fprintf(text, "%s: sent %" PRIu64 " bytes, received %" PRIu64 "%s\n", o.name.c_str(),
                  r.sent_bytes, r.received_bytes, r.target_reset ? ", reset by the target" : "");
    }
    outs.push_back(std::move(o));
  }
  std::fflush(text);
  return t;
}

/// The closing lines on stderr: totals, and --timing-report's errors.
void print_summary(const ReplayOptions& opt, size_t jobs, const EngineResult& er,
                   const Tally& t) {
  char compared[64] = "";
  if (opt.compare) std::snprintf(compared, sizeof compared, "; %zu same, %zu differ", t.same, t.differ);
  char errors[96] = "";
  if (t.counted && (t.error_answers > 0 || t.recorded_errors > 0)) {
    std::snprintf(errors, sizeof errors, "; %" PRIu64 " error answers (recorded %" PRIu64 ")",
                  t.error_answers, t.recorded_errors);
  }
  diag::notef("%zu connection%s to %s: %zu completed, %zu failed; sent %" PRIu64
              " bytes, received %" PRIu64 " in %.3f s%s%s",
              jobs, jobs == 1 ? "" : "s", opt.target.c_str(), jobs - t.failed, t.failed, t.sent,
              t.received, static_cast<double>(er.elapsed_ns) / 1e9, compared, errors);
  if (opt.timing_report) {
    const TimingStats s = timing_stats(er.sends);
    const TimingStats st = timing_stats(er.starts);
    diag::notef("timing: %zu timed sends, error p50 %.1f us, p99 %.1f us, max %.1f us; %" PRIu64
                " sends waited for the target instead; %zu starts, error p99 %.1f us",
                s.n, s.p50, s.p99, s.max, er.sends_held_by_target, st.n, st.p99);
  }
}

}  // namespace

int run_replay(int argc, char** argv) {
  // 1. Options.
  diag::set_program("tcpscribe replay");
  ReplayOptions opt;
  if (const int rc = parse_replay_options(argc, argv, opt, std::cerr); rc != 0) return kExitUsage;
  if (opt.show_help) {
    print_replay_help(std::cout);
    return kExitOk;
  }
  Masker masker;
  for (const std::string& re : opt.ignore) {
    std::string error;
    if (!masker.add(re, error)) {
      diag::errorf("--ignore: %s", error.c_str());
      return kExitUsage;
    }
  }

  // 2. Inputs -> conversations. An unreadable capture stops the run; a
  // damaged log is left out and the others replayed, and the exit status
  // (2) keeps the partial replay from looking like a passing one.
  std::vector<Conversation> convs;
  std::vector<std::string> damaged;
  if (!load_inputs(opt, convs, damaged)) return kExitInput;

  // 3. The target and the --record root.
  EngineOptions eo;
  if (const int rc = prepare_engine(opt, eo); rc != kExitOk) return rc;

  // 4. Plans, then the jobs (--repeat runs every plan again).
  const std::vector<ReplayPlan> plans = make_plans(opt, convs);
  std::vector<ReplayJob> jobs;
  for (unsigned it = 0; it < opt.repeat; ++it) {
    for (const ReplayPlan& p : plans) jobs.push_back({&p, it});
  }

  // 5. Replay, with a progress line on a terminal (stderr).
  Progress progress(true);
  if (progress.enabled()) {
    eo.progress = [&progress](size_t done, size_t total, uint64_t sent, uint64_t received) {
      char buf[160];
      std::snprintf(buf, sizeof buf, "replay: %zu/%zu connections done, %.1f MB sent, %.1f MB received",
                    done, total, static_cast<double>(sent) / 1e6, static_cast<double>(received) / 1e6);
      progress.line(buf);
    };
  }
  std::vector<std::unique_ptr<Comparison>> cmps;
  if (opt.compare) {
    for (const ReplayJob& j : jobs) cmps.push_back(std::make_unique<Comparison>(masker, *j.plan));
    eo.on_answer = [&cmps](size_t job, std::string_view bytes) {
      Comparison& c = *cmps[job];
      c.cmp.target(bytes);
      c.pull(c.cmp.target_bytes());
    };
  }
  const EngineResult er = run_replay_engine(jobs, eo);
  progress.clear();
  if (!er.realtime_error.empty()) diag::error(er.realtime_error);

  // 6. Results, per connection, in input order; 7. the summary.
  std::vector<Outcome> outs;
  const Tally t = judge(opt, jobs, er, cmps, outs);
  print_summary(opt, jobs.size(), er, t);
  if (!damaged.empty()) {
    std::string names;
    for (size_t i = 0; i < damaged.size() && i < 5; ++i) names += (i ? ", " : "") + damaged[i];
    if (damaged.size() > 5) names += " and " + std::to_string(damaged.size() - 5) + " more";
    diag::errorf("%zu of %zu logs damaged and not replayed: %s", damaged.size(), opt.logs.size(),
                 names.c_str());
  }

  int rc = kExitOk;
  std::string error;
  if (!opt.json_path.empty() && !write_json(opt, outs, er, error)) {
    diag::errorf("--json: %s", error.c_str());
    rc = kExitOutput;
  }
  if (!er.record_error.empty()) {
    diag::errorf("--record: %s", er.record_error.c_str());
    rc = kExitOutput;
  }
  if (t.differ > 0 || (opt.compare && t.more_errors > 0)) rc = kExitDiffers;
  if (!damaged.empty()) rc = kExitInput;
  if (t.failed > 0) rc = kExitStart;
  return rc;
}

}  // namespace tcpscribe
