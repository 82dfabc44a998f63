#include "options.h"

#include <boost/program_options.hpp>
#include <cmath>
#include <ostream>
#include <sstream>

#include "analyzer.h"
#include "exchange_text.h"
#include "name_template.h"
#include "redact_rules.h"
#include "whole_number.h"

namespace po = boost::program_options;

namespace tcpscribe {
namespace {

/// -e's help: every analyzer the registry has.
const std::string& enable_help() {
  static const std::string text = [] {
    std::string t = "run an analyzer (repeatable; all = every one):";
    for (const AnalyzerInfo& a : analyzer_registry()) {
      t += std::string(" ") + a.name + " (" + a.description + ");";
    }
    t.back() = '.';
    return t + " Analyzers also run when --har, --messages, --decode or --slow needs them";
  }();
  return text;
}

po::options_description visible_options() {
  po::options_description d("Options");
  // clang-format off
  d.add_options()
    ("help,h", "show this help and exit")
    ("version,V", "print the version and exit")
    ("read,r", po::value<std::vector<std::string>>()->value_name("FILE"), "read packets from a pcap/pcapng FILE ('-' = stdin, read as it arrives); repeatable: all are merged by timestamp")
    ("interface,i", po::value<std::string>()->value_name("IFACE"), "capture live on IFACE ('any' for all interfaces)")
    ("no-promiscuous,p", "do not put the interface into promiscuous mode")
    ("buffer-size", po::value<std::string>()->value_name("MiB"), "kernel capture buffer in MiB, 1 to 2047 (default 64)")
    ("queue-size", po::value<std::string>()->value_name("MiB"), "MiB of packets queued between capture and reassembly (default 256)")
    ("snaplen", po::value<std::string>()->value_name("BYTES"), "bytes captured per packet, 1 to 262144 (default 262144: all)")
    ("relinquish-privileges,U", po::value<std::string>()->value_name("USER"), "after opening the capture and the output, switch to USER")
    ("chroot,z", po::value<std::string>()->value_name("DIR"), "with -U, chroot to DIR after opening them")
    ("finish,R", po::value<std::vector<std::string>>()->value_name("FILE"), "read FILE (merged by timestamp) only to finish connections the -r files opened")
    ("outdir,o", po::value<std::string>()->value_name("DIR"), "write flow files into DIR (created if missing); default '.', but none when --report, --html, --har, -X or --netrecord is given without -o")
    ("console,c", "print the conversation on stdout instead of writing files (not with -o, --report -, --har -)")
    ("console-noheader,C", "like -c, without the 'src-dst: ' header")
    ("hex,D", "console output as a hex dump (with -c or -C)")
    ("binary,B", "console output byte for byte (no '.' for non-printables)")
    ("no-newline,0", "console: no newline after each chunk, no [reset]/[closed] lines (with -C -B: the exact stream)")
    ("strip,s", "replace non-printable bytes with '.' (files too)")
    ("max-bytes,b", po::value<std::string>()->value_name("N"), "keep at most N bytes (1 or more) of each direction of a flow")
    ("template,T", po::value<std::string>()->value_name("TEMPLATE"), "file name template (default %A.%a-%B.%b%V%v%C%c)")
    ("format,F", po::value<std::vector<std::string>>()->value_name("FLAGS"), "file name prefixes: c count, t time_t, T ISO time, k/m/g bins, X no files")
    ("index,I", "write FILE.findx beside each flow file: offset|time|length")
    ("enable,e", po::value<std::vector<std::string>>()->value_name("NAME"), enable_help().c_str())
    ("no-decompress,Z", "with -e http: keep bodies as sent (do not decode gzip/deflate)")
    ("netrecord", po::value<std::string>()->value_name("ROOT"), "write one netrecord log per connection: ROOT_1, ROOT_2, ... (never overwrites logs)")
    ("report", po::value<std::string>()->value_name("FILE"), "write a JSON Lines report to FILE: one object per connection as it ends, then one for the run (- = stdout)")
    ("flat-records", "write --report and --messages lines flat, for a database that maps one JSON key to one column (ClickHouse JSONEachRow, docs/clickhouse.sql): nested objects become dotted keys (\"c2s\":{\"fin\":true} -> \"c2s.fin\":true), arrays of objects one array per key (\"findings.kind\":[...])")
    ("html", po::value<std::string>()->value_name("FILE"), "write a single-file HTML report to FILE: connections on a timeline, packets, HTTP, details (opens offline)")
    ("dfxml,X", po::value<std::string>()->value_name("FILE"), "write a DFXML report to FILE, like tcpflow's report.xml")
    ("har", po::value<std::string>()->value_name("FILE"), "write an HTTP Archive 1.2 of every HTTP transaction to FILE (implies -e http; - = stdout)")
    ("messages", po::value<std::string>()->value_name("FILE"), "write one JSON object per application exchange (request + answer) to FILE as they complete (runs every analyzer unless -e names some; - = stdout)")
    ("tls-keylog", po::value<std::string>()->value_name("FILE"), "decrypt TLS 1.2/1.3 with the secrets in FILE (NSS key log: SSLKEYLOGFILE, openssl -keylogfile); live, FILE is read again as it grows and records wait for their keys. The plaintext goes to the console, to FLOW-TLS beside each flow file and to the analyzers (-e http); pcapng Decryption Secrets Blocks are read without this flag")
    ("redact", po::value<std::vector<std::string>>()->value_name("REGEX"), "replace every byte a PCRE2 REGEX matches by '*' (same length) in everything written: console, flow files, netrecord logs, --messages, --report, --html, --har, bodies (repeatable). `auth` = HTTP Authorization/Proxy-Authorization/Cookie/Set-Cookie values, Redis AUTH arguments, PostgreSQL and MySQL passwords. Matches across packets are caught up to 4096 bytes long; TLS plaintext decrypted with --tls-keylog is blanked the same way")
    ("slow", po::value<std::string>()->value_name("SECONDS"), "a finding for every answer that took longer than SECONDS (0.001 to 1000000; from the request's last byte to the answer's first) in HTTP/1, HTTP/2, Redis, PostgreSQL and MySQL exchanges (runs every analyzer unless -e names some)")
    ("decode", "with -c: show each message (request, answer) decoded by its analyzer instead of raw chunks; connections no analyzer recognises stay raw")
    ("max-fds,f", po::value<std::string>()->value_name("N"), "use at most N file descriptors for flow files (1 or more; default: the open-file limit less 32)")
    ("threads", po::value<std::string>()->value_name("N"), "reassembly threads, 1 to 64 (default 1). Capture files (-r): N workers, each taking the connections its address-and-port hash gives it; every output is the same as with one thread. Live (-i) on Linux with N > 1: N AF_PACKET rings (TPACKET_V3) in a fanout group that splits connections by a symmetric hash, merged in time order and reassembled on one thread; needs CAP_NET_RAW like -i; -i any and non-Ethernet interfaces stay on libpcap. Pipes: one thread")
    ("writer-threads", po::value<std::string>()->value_name("N"), "threads that create and write flow files, 0 to 64 (default 2; 0 = none)")
    ("shard", po::value<std::string>()->value_name("I/N"), "reconstruct only shard I of N (N 1 to 1024, I 0 to N-1): the connections whose address-and-port hash falls in it, so that N runs (on N machines) over the same captures together give exactly the whole; connection ids count this shard's connections")
    ("quiet,q", "no warnings, no progress line")
    ("verbose,v", "statistics and details on stderr (and routine findings)")
    ("color", po::value<std::string>()->value_name("WHEN"), "console colors: auto (default), always, never; NO_COLOR disables auto. Directions in blue and red; in the hex (-D) and text views control bytes magenta, bytes >= 0x80 cyan (not with -B)")
    ("stats", "live (-i): a panel at the top of stderr's terminal with one row per open connection (bytes and bytes/s each way, state), totals and recently closed ones, redrawn every second; -c output scrolls below it (without a terminal: says so, no panel)")
    ("stats-json", po::value<std::string>()->value_name("FILE"), "live (-i): the same numbers as one JSON object a line to FILE every interval and once at the end (- = stdout)")
    ("stats-interval", po::value<double>()->value_name("SECONDS"), "seconds between panel redraws and JSON lines, 0.1 to 3600 (default 1)")
    ("max-flows", po::value<std::string>()->value_name("N"), "open connections held at once before the least recently active is evicted (its later packets continue its files; default 1000000)")
    ("max-buffer", po::value<std::string>()->value_name("BYTES"), "MiB of out-of-order data held in all (default 256)")
    ("max-flow-buffer", po::value<std::string>()->value_name("BYTES"), "MiB of out-of-order data held per direction (default 16)")
    ("max-file-buffer", po::value<std::string>()->value_name("BYTES"), "MiB of flow-file data gathered in memory in all before the largest pieces are written (default 16)")
    ("reorder-window", po::value<std::string>()->value_name("N"), "packets held to restore timestamp order, 0 to 10000000 (default 256; 0 = capture order)")
    ("idle-timeout", po::value<double>()->value_name("SECONDS"), "close connections idle this many seconds of capture time (default 900; 0 = never)");
  // clang-format on
  return d;
}

/// A numeric option: its key, how messages name it, its range.
struct NumberSpec {
  const char* key;
  const char* shown;
  uint64_t min;
  uint64_t max;
};

/// Reads option `n` as a whole decimal number within its range into `out`
/// (left alone when the option is absent). Boost would wrap "-5" to
/// 2^64-5 for an unsigned type, so the text is checked here instead.
template <typename T>
bool parse_number(const po::variables_map& vm, const NumberSpec& n, T& out, std::ostream& err) {
  if (!vm.count(n.key)) return true;
  const std::string text = vm[n.key].as<std::string>();
  uint64_t v = 0;
  if (!parse_whole_number(text, n.min, n.max, v)) {
    err << "tcpscribe: " << n.shown << " takes a whole number ";
    if (n.max == UINT64_MAX) {
      err << "of " << n.min << " or more";
    } else {
      err << "from " << n.min << " to " << n.max;
    }
    err << ", not '" << text << "'\n";
    return false;
  }
  out = static_cast<T>(v);
  return true;
}

constexpr uint64_t kMaxMib = 1 << 20;  // 1 TiB: any sane amount, and no overflow in bytes

}  // namespace

void print_help(std::ostream& out) {
  out << "usage: tcpscribe [options] -r FILE [-r FILE ...] [-o DIR | -c] [BPF expression]\n"
         "       tcpscribe [options] -i IFACE [-o DIR | -c] [BPF expression]\n"
         "       tcpscribe proxy --listen HOST:PORT --forward HOST:PORT [--log-root ROOT] ...\n"
         "       tcpscribe replay --target HOST:PORT LOG... | -r FILE ...\n"
         "       (tcpscribe proxy --help, tcpscribe replay --help for their options)\n"
         "Reconstructs each direction of every TCP connection in a capture, exactly:\n"
         "one file per direction (tcpflow's names), or the conversation on the console.\n\n"
      << visible_options()
      << "\nExit status: 0 ok, 1 bad usage, 2 capture unreadable or damaged,"
         " 3 output could not be written,\n4 live capture could not start.\n"
         "See tcpscribe(1) for file names, templates and details.\n";
}

void print_version(std::ostream& out) {
#ifdef TCPSCRIBE_VERSION
  out << "tcpscribe " << TCPSCRIBE_VERSION << "\n";
#else
  out << "tcpscribe\n";
#endif
}

namespace {

/// --shard I/N: one line naming what it takes.
bool parse_shard(const po::variables_map& vm, Options& opt, std::ostream& err) {
  if (!vm.count("shard")) return true;
  const std::string text = vm["shard"].as<std::string>();
  const size_t slash = text.find('/');
  uint64_t index = 0;
  uint64_t count = 0;
  if (slash == std::string::npos ||
      !parse_whole_number(text.substr(slash + 1), 1, 1024, count) ||
      !parse_whole_number(text.substr(0, slash), 0, count - 1, index)) {
    err << "tcpscribe: --shard takes I/N, this run's part I (0 to N-1) of N parts (1 to 1024), "
           "as 0/4; not '"
        << text << "'\n";
    return false;
  }
  opt.shard_index = static_cast<uint32_t>(index);
  opt.shard_count = static_cast<uint32_t>(count);
  return true;
}

/// Every numeric option, checked against its documented range.
/// --slow SECONDS: one line naming what it takes.
bool parse_slow(const std::string& text, Timestamp& out, std::ostream& err) {
  if (parse_slow_seconds(text, out)) return true;
  err << "tcpscribe: --slow takes " << kSlowRange << ", not '" << text << "'\n";
  return false;
}

bool parse_numbers(const po::variables_map& vm, Options& opt, std::ostream& err) {
  const bool ok =
      parse_number(vm, {"buffer-size", "--buffer-size", 1, 2047}, opt.buffer_mib, err) &&
      parse_number(vm, {"queue-size", "--queue-size", 1, kMaxMib}, opt.queue_mib, err) &&
      parse_number(vm, {"snaplen", "--snaplen", 1, 262144}, opt.snaplen, err) &&
      parse_number(vm, {"max-bytes", "-b", 1, UINT64_MAX}, opt.max_bytes, err) &&
      parse_number(vm, {"max-fds", "-f", 1, 1u << 24}, opt.max_fds, err) &&
      parse_number(vm, {"writer-threads", "--writer-threads", 0, 64}, opt.writer_threads, err) &&
      parse_number(vm, {"threads", "--threads", 1, 64}, opt.threads, err) &&
      parse_number(vm, {"reorder-window", "--reorder-window", 0, 10'000'000},
                   opt.reorder_window, err) &&
      parse_number(vm, {"max-flows", "--max-flows", 1, 100'000'000}, opt.max_flows, err) &&
      parse_number(vm, {"max-buffer", "--max-buffer", 1, kMaxMib}, opt.max_buffer_mib, err) &&
      parse_number(vm, {"max-flow-buffer", "--max-flow-buffer", 1, kMaxMib},
                   opt.max_flow_buffer_mib, err) &&
      parse_number(vm, {"max-file-buffer", "--max-file-buffer", 1, kMaxMib},
                   opt.file_buffer_mib, err);
  if (!ok) return false;
  if (vm.count("idle-timeout")) {
    // NaN and infinity parse as doubles; a billion seconds is 31 years.
    const double s = vm["idle-timeout"].as<double>();
    if (!std::isfinite(s) || s < 0 || s > 1e9) {
      err << "tcpscribe: --idle-timeout takes 0 to 1000000000 seconds (0 = never), not '"
          << s << "'\n";
      return false;
    }
    opt.idle_timeout = static_cast<Timestamp>(s * kNanosPerSecond);
  }
  return true;
}

/// --stats, --stats-json, --stats-interval: live capture only (a capture
/// file has no "now"; its totals are in --report and -v).
bool read_stats(const po::variables_map& vm, Options& opt, std::ostream& err) {
  opt.stats = vm.count("stats") > 0;
  if (vm.count("stats-json")) {
    opt.stats_json = vm["stats-json"].as<std::string>();
    if (opt.stats_json.empty()) {
      err << "tcpscribe: --stats-json is empty\n";
      return false;
    }
  }
  const bool any = opt.stats || !opt.stats_json.empty();
  if (vm.count("stats-interval")) {
    const double v = vm["stats-interval"].as<double>();
    if (!std::isfinite(v) || v < 0.1 || v > 3600) {
      err << "tcpscribe: --stats-interval takes 0.1 to 3600 seconds, not " << v << "\n";
      return false;
    }
    if (!any) {
      err << "tcpscribe: --stats-interval goes with --stats or --stats-json\n";
      return false;
    }
    opt.stats_interval = v;
  }
  if (any && !opt.live) {
    err << "tcpscribe: --stats and --stats-json show a live capture (-i) or the proxy; a capture "
           "file's totals are in --report FILE and -v\n";
    return false;
  }
  return true;
}

/// Outputs that would share standard output, or flags that say nothing,
/// are refused; a run that names a report and no -o writes no flow files.
bool settle_outputs(const po::variables_map& vm, Options& opt, std::ostream& err) {
  const char* console = vm.count("console-noheader") ? "-C" : "-c";
  if (opt.console && vm.count("outdir")) {
    err << "tcpscribe: " << console << " prints the conversation instead of writing flow files; "
        << "drop -o, or drop " << console << " to write files\n";
    return false;
  }
  std::vector<std::string> to_stdout;
  if (opt.console) to_stdout.push_back(console);
  if (opt.stats_json == "-") to_stdout.push_back("--stats-json -");
  if (opt.report_path == "-") to_stdout.push_back("--report -");
  if (opt.har_path == "-") to_stdout.push_back("--har -");
  if (opt.messages_path == "-") to_stdout.push_back("--messages -");
  if (to_stdout.size() > 1) {
    err << "tcpscribe: " << to_stdout[0] << " and " << to_stdout[1]
        << " would both write to standard output; give " << to_stdout[1] << " a file name\n";
    return false;
  }
  // A report asked for on its own should not litter the current directory.
  const bool report = !opt.report_path.empty() || !opt.html_path.empty() ||
                      !opt.har_path.empty() || !opt.dfxml_path.empty() ||
                      !opt.netrecord_root.empty() || !opt.messages_path.empty();
  if (report && !vm.count("outdir")) opt.no_files = true;
  return true;
}


/// Where the packets come from: -r/-R in command-line order, -i, the
/// trailing filter, -U and -z.
bool read_inputs(const po::parsed_options& parsed, const po::variables_map& vm, Options& opt,
                 std::ostream& err) {
  // -r and -R keep their command-line order.
  for (const po::option& o : parsed.options) {
    if (o.string_key == "read" || o.string_key == "finish") {
      for (const std::string& v : o.value) {
        opt.inputs.push_back({v, o.string_key == "finish"});
      }
    }
  }
  if (vm.count("expression")) {
    std::ostringstream s;
    for (const std::string& w : vm["expression"].as<std::vector<std::string>>()) {
      if (s.tellp() > 0) s << ' ';
      s << w;
    }
    opt.filter = s.str();
  }
  if (vm.count("interface")) {
    opt.interface = vm["interface"].as<std::string>();
    opt.live = true;
  }
  opt.promiscuous = !vm.count("no-promiscuous");
  if (vm.count("relinquish-privileges")) opt.user = vm["relinquish-privileges"].as<std::string>();
  if (vm.count("chroot")) opt.chroot_dir = vm["chroot"].as<std::string>();
  if (!opt.chroot_dir.empty() && opt.user.empty()) {
    err << "tcpscribe: -z needs -U USER (chroot only makes sense when dropping root)\n";
    return false;
  }
  if (opt.live && !opt.inputs.empty()) {
    err << "tcpscribe: give either -i IFACE or -r FILE, not both\n";
    return false;
  }
  return true;
}

/// What is written: console flags, -e, the reports' paths.
bool read_outputs(const po::variables_map& vm, Options& opt, std::ostream& err) {
  if (vm.count("outdir")) opt.outdir = vm["outdir"].as<std::string>();
  opt.console = vm.count("console") || vm.count("console-noheader");
  opt.console_header = !vm.count("console-noheader");
  opt.hex = vm.count("hex");
  opt.binary = vm.count("binary");
  opt.chunk_newline = !vm.count("no-newline");
  opt.strip_nonprint = vm.count("strip");
  opt.write_index = vm.count("index");
  if (vm.count("enable")) {
    for (const std::string& e : vm["enable"].as<std::vector<std::string>>()) {
      if (e != "all" && !find_analyzer(e)) {
        err << "tcpscribe: -e: unknown analyzer '" << e << "' (known: " << analyzer_names()
            << ", all)\n";
        return false;
      }
      opt.analyzers.push_back(e);
    }
  }
  if (vm.count("messages")) opt.messages_path = vm["messages"].as<std::string>();
  if (vm.count("slow") && !parse_slow(vm["slow"].as<std::string>(), opt.slow, err)) return false;
  opt.decode = vm.count("decode");
  if (opt.decode && !opt.console) {
    err << "tcpscribe: --decode shows decoded messages on the console: add -c (or -C)\n";
    return false;
  }
  opt.keep_encoded = vm.count("no-decompress");
  if (vm.count("netrecord")) opt.netrecord_root = vm["netrecord"].as<std::string>();
  if (vm.count("report")) opt.report_path = vm["report"].as<std::string>();
  opt.flat_records = vm.count("flat-records");
  if (opt.flat_records && opt.report_path.empty() && opt.messages_path.empty()) {
    err << "tcpscribe: --flat-records changes the lines of --report and --messages: add one of them\n";
    return false;
  }
  if (vm.count("html")) opt.html_path = vm["html"].as<std::string>();
  if (vm.count("dfxml")) opt.dfxml_path = vm["dfxml"].as<std::string>();
  if (vm.count("har")) opt.har_path = vm["har"].as<std::string>();
  if (vm.count("tls-keylog")) {
    opt.tls_keylog = vm["tls-keylog"].as<std::string>();
    if (opt.tls_keylog.empty()) {
      err << "tcpscribe: --tls-keylog needs a file name (an NSS key log, as SSLKEYLOGFILE writes)\n";
      return false;
    }
  }
  if (vm.count("redact")) {
    RedactRules rules;
    std::string error;
    for (const std::string& r : vm["redact"].as<std::vector<std::string>>()) {
      if (!rules.add(r, error)) {
        err << "tcpscribe: " << error << "\n";
        return false;
      }
      opt.redact.push_back(r);
    }
  }
  return true;
}

/// -T and -F: the flow files' name template.
bool read_names(const po::variables_map& vm, Options& opt, std::ostream& err) {
  std::string tmpl = vm.count("template") ? vm["template"].as<std::string>() : kDefaultTemplate;
  std::string error;
  if (vm.count("format")) {
    for (const std::string& letters : vm["format"].as<std::vector<std::string>>()) {
      if (letters.find('X') != std::string::npos) opt.no_files = true;
      // tcpflow ignores the binning letters when -T is given.
      std::string effective = letters;
      if (vm.count("template")) {
        std::erase_if(effective, [](char ch) { return ch == 'k' || ch == 'm' || ch == 'g'; });
      }
      if (!apply_name_prefixes(effective, tmpl, error)) {
        err << "tcpscribe: " << error << "\n";
        return false;
      }
    }
  }
  if (!validate_template(tmpl, error)) {
    err << "tcpscribe: " << error << "\n";
    return false;
  }
  opt.name_template = tmpl;
  return true;
}

}  // namespace

int parse_options(int argc, char** argv, Options& opt, std::ostream& err) {
  po::options_description all = visible_options();
  all.add_options()("expression", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("expression", -1);
  po::parsed_options parsed{nullptr};
  po::variables_map vm;
  try {
    parsed = po::command_line_parser(argc, argv)
                 .options(all)
                 .positional(pos)
                 .style(po::command_line_style::unix_style)
                 .run();
    po::store(parsed, vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "tcpscribe: " << e.what() << " (see tcpscribe --help)\n";
    return kExitUsage;
  }
  opt.show_help = vm.count("help");
  opt.show_version = vm.count("version");
  for (int i = 0; i < argc; ++i) {
    if (i > 0) opt.command_line += ' ';
    opt.command_line += argv[i];
  }
  opt.quiet = vm.count("quiet");
  opt.verbose = static_cast<int>(vm.count("verbose"));
  if (!read_inputs(parsed, vm, opt, err) || !read_outputs(vm, opt, err) ||
      !read_stats(vm, opt, err) || !settle_outputs(vm, opt, err) || !parse_numbers(vm, opt, err) ||
      !parse_shard(vm, opt, err)) {
    return kExitUsage;
  }
  if (vm.count("color")) {
    const std::string c = vm["color"].as<std::string>();
    if (!parse_color_mode(c, opt.color)) {
      err << "tcpscribe: --color takes auto, always or never, not '" << c << "'\n";
      return kExitUsage;
    }
  }
  if (!read_names(vm, opt, err)) return kExitUsage;
  if (!opt.show_help && !opt.show_version && opt.inputs.empty() && !opt.live) {
    err << "tcpscribe: no input: give a capture file with -r FILE or an interface with -i "
           "IFACE (see tcpscribe --help)\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace tcpscribe
