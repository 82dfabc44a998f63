#include "proxy_options.h"

#include <boost/program_options.hpp>
#include <charconv>
#include <cmath>
#include <ostream>

#include "analyzer.h"
#include "redact_rules.h"
#include "exchange_text.h"
#include "whole_number.h"

namespace po = boost::program_options;

namespace tcpscribe {
namespace {

po::options_description visible_options() {
  po::options_description d("Options");
  // clang-format off
  d.add_options()
    ("help,h", "show this help and exit")
    ("listen,l", po::value<std::string>()->value_name("HOST:PORT"), "accept clients on HOST:PORT ([::1]:8080, :8080 = all interfaces, IPv6 and IPv4; port 0 = any free port)")
    ("forward,f", po::value<std::string>()->value_name("HOST:PORT"), "connect each client to HOST:PORT (a name, IPv4 or [IPv6])")
    ("log-root,w", po::value<std::string>()->value_name("ROOT"), "write a netrecord log per connection: ROOT_1, ROOT_2, ... (never overwrites; numbering continues after existing logs)")
    ("netrecord", po::value<std::string>()->value_name("ROOT"), "the same as --log-root (the passive mode's name for it)")
    ("report", po::value<std::string>()->value_name("FILE"), "write a JSON Lines report to FILE: one object per connection as it ends (- = stdout, with -q)")
    ("messages", po::value<std::string>()->value_name("FILE"), "write JSON Lines to FILE: one object per request with its answer (- = stdout, with -q)")
    ("flat-records", "write --report and --messages lines flat, for a database that maps one JSON key to one column (ClickHouse JSONEachRow, docs/clickhouse.sql): nested objects become dotted keys, arrays of objects one array per key")
    ("html", po::value<std::string>()->value_name("FILE"), "write a single-file HTML report to FILE when the proxy stops")
    ("har", po::value<std::string>()->value_name("FILE"), "write an HTTP Archive 1.2 of every HTTP transaction to FILE when the proxy stops (- = stdout, with -q)")
    ("outdir,o", po::value<std::string>()->value_name("DIR"), "write flow files into DIR (created if missing), named by the client and upstream endpoints")
    ("enable,e", po::value<std::vector<std::string>>()->value_name("NAME"), "run the protocol analyzer NAME (repeatable; all = every one); outputs that need one run it anyway")
    ("slow", po::value<std::string>()->value_name("SECONDS"), "a finding for every answer that took longer than SECONDS (0.001 to 1000000) in HTTP/1, HTTP/2, Redis, PostgreSQL and MySQL exchanges (runs every analyzer unless -e names some)")
    ("redact", po::value<std::vector<std::string>>()->value_name("REGEX"), "replace every byte a PCRE2 REGEX matches by '*' (same length) in the console view, logs, flow files, --messages, --report, --html and --har, never in the forwarded traffic (repeatable). `auth` = HTTP Authorization/Proxy-Authorization/Cookie/Set-Cookie values, Redis AUTH arguments, PostgreSQL and MySQL passwords. Matches across reads are caught up to 4096 bytes long")
    ("decode", "show each request and answer decoded instead of the raw chunks of connections an analyzer understands")
    ("hex,D", "show chunks as a hexdump -C style dump")
    ("max-dump", po::value<std::string>()->value_name("N|all"), "show at most N bytes of each chunk (0 or more, or 'all'), then '... M more bytes' (default: all; a screenful on a terminal)")
    ("timestamps", po::value<std::string>()->implicit_value("relative")->value_name("WHEN"), "start each console line with the time: relative (default: seconds since the proxy started) or absolute (local time of day)")
    ("no-dump", "show one line per chunk, without its bytes")
    ("json", "one JSON object per event on stdout instead of the text view")
    ("quiet,q", "no console view (errors still go to stderr)")
    ("color", po::value<std::string>()->value_name("WHEN"), "auto (default: when stdout is a terminal and NO_COLOR is unset), always, never; directions in blue and red, and in the hex and text views control bytes magenta, bytes >= 0x80 cyan")
    ("stats", "a live panel at the top of stderr's terminal: totals, recently closed and one row per open connection (bytes and bytes/s each way, state), redrawn every second; the log scrolls below it (without a terminal: says so, no panel)")
    ("stats-json", po::value<std::string>()->value_name("FILE"), "write the same numbers as one JSON object a line to FILE every interval, and once at the end (- = stdout, with -q)")
    ("stats-interval", po::value<double>()->value_name("SECONDS"), "seconds between panel redraws and JSON lines, 0.1 to 3600 (default 1)")
    ("idle-timeout", po::value<double>()->value_name("SECONDS"), "close a connection after SECONDS without data either way (default 0 = never)")
    ("connect-timeout", po::value<double>()->value_name("SECONDS"), "give up connecting upstream after SECONDS (default 10)")
    ("drain", po::value<double>()->value_name("SECONDS"), "after SIGINT/SIGTERM, let open connections finish for up to SECONDS (default 5)")
    ("buffer", po::value<std::string>()->value_name("BYTES"), "bytes read at once and held per direction (default 1048576); bounds memory per connection")
    ("fail-closed", "with --log-root: refuse traffic that cannot be logged (a connection whose log cannot be created or written is reset before unlogged bytes are forwarded)")
    ("max-connections", po::value<std::string>()->value_name("N"), "connections open at once, 1 to 1000000; beyond it clients wait in the listen queue (default: what the descriptor limit allows, at most 10000)")
    ("tls-cert", po::value<std::string>()->value_name("FILE"), "accept TLS clients: the proxy's certificate (PEM, the chain after it); needs --tls-key")
    ("tls-key", po::value<std::string>()->value_name("FILE"), "the private key of --tls-cert (PEM)")
    ("tls-upstream", "speak TLS to the upstream (SNI: the client's, else the --forward name; ALPN: the client's offer)")
    ("tls-ca", po::value<std::string>()->value_name("FILE"), "with --tls-upstream: trust these CA certificates (PEM) instead of the system's")
    ("tls-insecure", "with --tls-upstream: do not verify the upstream's certificate")
    ("tls-keylog", po::value<std::string>()->value_name("FILE"), "append the proxy's TLS session keys (both legs) to FILE in the NSS key log format")
    ("inspect", po::value<std::vector<std::string>>()->multitoken()->value_name("LOG..."), "check netrecord LOG files and summarise them instead of proxying")
    ("extract", po::value<std::string>()->value_name("DIR"), "with --inspect: write each log's streams to DIR/NAME.c and DIR/NAME.s");
  // clang-format on
  return d;
}

bool parse_port(const std::string& s, uint16_t& port) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v > 65535) return false;
  port = static_cast<uint16_t>(v);
  return true;
}

bool seconds(const po::variables_map& vm, const char* name, double& out, std::ostream& err) {
  if (!vm.count(name)) return true;
  const double v = vm[name].as<double>();
  if (!std::isfinite(v) || v < 0 || v > 1e7) {
    err << "tcpscribe proxy: --" << name << " takes seconds >= 0, not " << v << "\n";
    return false;
  }
  out = v;
  return true;
}

}  // namespace

bool parse_host_port(const std::string& s, HostPort& out, std::string& error) {
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      error = "'" + s + "' is not [IPV6]:PORT";
      return false;
    }
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    if (host.empty()) {
      error = "'" + s + "' has an empty address";
      return false;
    }
  } else {
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) {
      error = "'" + s + "' has no port (HOST:PORT, [IPV6]:PORT)";
      return false;
    }
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string::npos) {
      error = "'" + s + "': write IPv6 addresses in brackets, [" + host + "]:" + port;
      return false;
    }
  }
  if (!parse_port(port, out.port)) {
    error = "'" + s + "': bad port '" + port + "'";
    return false;
  }
  out.host = host;
  return true;
}

void print_proxy_help(std::ostream& out) {
  out << "usage: tcpscribe proxy --listen HOST:PORT --forward HOST:PORT [--log-root ROOT] [options]\n"
         "       tcpscribe proxy DEST_HOST DEST_PORT LISTEN_PORT LOG_ROOT   (netrecord's order;\n"
         "                                                           listens on all interfaces)\n"
         "       tcpscribe proxy --inspect LOG... [--extract DIR]\n"
         "Forwards each accepted connection to the upstream, shows what crosses it, and\n"
         "records each connection as a netrecord log; --report, --messages, --html, --har\n"
         "and -o write what the passive mode writes for a capture of the same traffic.\n\n"
      << visible_options()
      << "\nTLS: --tls-cert/--tls-key make the proxy the TLS server of its clients,\n"
         "--tls-upstream makes it a TLS client of the upstream (verified with --tls-ca, by\n"
         "default with the system's CAs, or not at all with --tls-insecure); either or both.\n"
         "The console, logs and every output hold the plaintext. A failed handshake closes\n"
         "that connection only (one line on stderr).\n"
         "\nExit status: 0 ok (also after SIGINT/SIGTERM), 1 bad usage, 2 --inspect found a\n"
         "damaged log or a --tls-cert/--tls-key/--tls-ca file cannot be loaded, 3 logs or\n"
         "another output could not be written, 4 cannot listen or resolve the upstream.\n";
}

bool parse_subcommand_line(int argc, char** argv, const po::options_description& visible,
                           po::variables_map& vm, std::vector<std::string>& positional,
                           const char* who, const char* hint, std::ostream& err) {
  po::options_description all = visible;
  all.add_options()("positional", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("positional", -1);
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << who << ": " << e.what() << hint << "\n";
    return false;
  }
  if (vm.count("positional")) positional = vm["positional"].as<std::vector<std::string>>();
  return true;
}

namespace {

/// Where to listen, where to forward, the log root: the flags or netrecord's
/// own positional order.
bool read_endpoints(const po::variables_map& vm, const std::vector<std::string>& positional,
                    ProxyOptions& opt, std::ostream& err) {
  if (vm.count("log-root") && vm.count("netrecord")) {
    err << "tcpscribe proxy: --netrecord and --log-root are the same option; give one\n";
    return false;
  }
  const char* root_flag = vm.count("netrecord") ? "netrecord" : "log-root";
  std::string error;
  if (!positional.empty()) {
    // netrecord's own order: dest host, dest port, listen port, log root.
    if (positional.size() != 4 || vm.count("listen") || vm.count("forward") ||
        vm.count(root_flag)) {
      err << "tcpscribe proxy: expected DEST_HOST DEST_PORT LISTEN_PORT LOG_ROOT, or --listen and"
             " --forward, not both\n";
      return false;
    }
    opt.forward.host = positional[0];
    if (!parse_port(positional[1], opt.forward.port)) {
      err << "tcpscribe proxy: bad destination port '" << positional[1] << "'\n";
      return false;
    }
    opt.listen.host = "";  // all interfaces, as netrecord did
    if (!parse_port(positional[2], opt.listen.port)) {
      err << "tcpscribe proxy: bad listen port '" << positional[2] << "'\n";
      return false;
    }
    opt.log_root = positional[3];
  } else {
    if (!vm.count("listen") || !vm.count("forward")) {
      err << "tcpscribe proxy: --listen and --forward are required (see tcpscribe proxy --help)\n";
      return false;
    }
    if (!parse_host_port(vm["listen"].as<std::string>(), opt.listen, error)) {
      err << "tcpscribe proxy: --listen " << error << "\n";
      return false;
    }
    if (!parse_host_port(vm["forward"].as<std::string>(), opt.forward, error)) {
      err << "tcpscribe proxy: --forward " << error << "\n";
      return false;
    }
    if (vm.count(root_flag)) opt.log_root = vm[root_flag].as<std::string>();
  }
  if (opt.forward.host.empty() || opt.forward.port == 0) {
    err << "tcpscribe proxy: --forward needs a host and a port other than 0\n";
    return false;
  }
  if (vm.count(root_flag) && opt.log_root.empty()) {
    err << "tcpscribe proxy: --" << root_flag << " is empty\n";
    return false;
  }
  return true;
}

/// The console view: -D, --max-dump, --no-dump, --json, -q, --color.
bool read_view(const po::variables_map& vm, ProxyOptions& opt, std::ostream& err) {
  opt.hex = vm.count("hex") > 0;
  opt.dump = vm.count("no-dump") == 0;
  if (vm.count("max-dump")) {
    opt.max_dump_given = true;
    const std::string v = vm["max-dump"].as<std::string>();
    if (v == "all") {
      opt.max_dump = UINT64_MAX;
    } else if (!parse_whole_number(v, 0, UINT64_MAX, opt.max_dump)) {
      err << "tcpscribe proxy: --max-dump takes a whole number of bytes, 0 or more, or 'all', not '"
          << v << "'\n";
      return false;
    }
  }
  if (vm.count("timestamps")) {
    const std::string v = vm["timestamps"].as<std::string>();
    if (v == "relative" || v == "rel") {
      opt.timestamps = ProxyOptions::Stamps::kRelative;
    } else if (v == "absolute" || v == "abs") {
      opt.timestamps = ProxyOptions::Stamps::kAbsolute;
    } else {
      err << "tcpscribe proxy: --timestamps takes relative or absolute, not '" << v << "'\n";
      return false;
    }
  }
  opt.json = vm.count("json") > 0;
  opt.quiet = vm.count("quiet") > 0;
  if (vm.count("color")) {
    const std::string c = vm["color"].as<std::string>();
    if (!parse_color_mode(c, opt.color)) {
      err << "tcpscribe proxy: --color takes auto, always or never, not '" << c << "'\n";
      return false;
    }
  }
  return true;
}

/// The outputs the passive modes share (--report, --messages, --html,
/// --har, -o, -e, --decode). Standard output belongs to the console view
/// unless -q, and to one output at most.
bool read_outputs(const po::variables_map& vm, ProxyOptions& opt, std::ostream& err) {
  const auto path = [&](const char* name, std::string& out) {
    if (vm.count(name)) out = vm[name].as<std::string>();
    if (vm.count(name) && out.empty()) {
      err << "tcpscribe proxy: --" << name << " is empty\n";
      return false;
    }
    return true;
  };
  if (!path("report", opt.report_path) || !path("messages", opt.messages_path) ||
      !path("html", opt.html_path) || !path("har", opt.har_path) || !path("outdir", opt.outdir)) {
    return false;
  }
  opt.flat_records = vm.count("flat-records");
  if (opt.flat_records && opt.report_path.empty() && opt.messages_path.empty()) {
    err << "tcpscribe proxy: --flat-records changes the lines of --report and --messages: add one of them\n";
    return false;
  }
  if (vm.count("enable")) opt.analyzers = vm["enable"].as<std::vector<std::string>>();
  for (const std::string& name : opt.analyzers) {
    if (name != "all" && !find_analyzer(name)) {
      err << "tcpscribe proxy: -e: unknown analyzer '" << name << "' (known: "
          << analyzer_names() << ", all)\n";
      return false;
    }
  }
  if (vm.count("slow") && !parse_slow_seconds(vm["slow"].as<std::string>(), opt.slow)) {
    err << "tcpscribe proxy: --slow takes " << kSlowRange << ", not '"
        << vm["slow"].as<std::string>() << "'\n";
    return false;
  }
  if (vm.count("redact")) {
    RedactRules rules;
    std::string error;
    for (const std::string& r : vm["redact"].as<std::vector<std::string>>()) {
      if (!rules.add(r, error)) {
        err << "tcpscribe proxy: " << error << "\n";
        return false;
      }
      opt.redact.push_back(r);
    }
  }
  opt.decode = vm.count("decode") > 0;
  if (opt.decode && (opt.quiet || opt.json)) {
    err << "tcpscribe proxy: --decode is a view of the text console; drop "
        << (opt.quiet ? "-q" : "--json") << "\n";
    return false;
  }
  opt.stats = vm.count("stats") > 0;
  if (!path("stats-json", opt.stats_json)) return false;
  if (vm.count("stats-interval")) {
    const double v = vm["stats-interval"].as<double>();
    if (!std::isfinite(v) || v < 0.1 || v > 3600) {
      err << "tcpscribe proxy: --stats-interval takes 0.1 to 3600 seconds, not " << v << "\n";
      return false;
    }
    if (!opt.stats && opt.stats_json.empty()) {
      err << "tcpscribe proxy: --stats-interval goes with --stats or --stats-json\n";
      return false;
    }
    opt.stats_interval = v;
  }
  std::vector<const char*> to_stdout;  // flags given "-"
  if (opt.stats_json == "-") to_stdout.push_back("--stats-json");
  if (opt.report_path == "-") to_stdout.push_back("--report");
  if (opt.messages_path == "-") to_stdout.push_back("--messages");
  if (opt.har_path == "-") to_stdout.push_back("--har");
  if (!to_stdout.empty() && !opt.quiet) {
    err << "tcpscribe proxy: the console view and " << to_stdout[0]
        << " - would both write to standard output; add -q, or give " << to_stdout[0]
        << " a file name\n";
    return false;
  }
  if (to_stdout.size() > 1) {
    err << "tcpscribe proxy: " << to_stdout[0] << " - and " << to_stdout[1]
        << " - would both write to standard output; give " << to_stdout[1] << " a file name\n";
    return false;
  }
  return true;
}

/// Timeouts, buffer size, connection cap.
bool read_limits(const po::variables_map& vm, ProxyOptions& opt, std::ostream& err) {
  if (!seconds(vm, "idle-timeout", opt.idle_timeout, err) ||
      !seconds(vm, "connect-timeout", opt.connect_timeout, err) ||
      !seconds(vm, "drain", opt.drain, err)) {
    return false;
  }
  uint64_t n = 0;
  if (vm.count("buffer")) {
    if (!parse_whole_number(vm["buffer"].as<std::string>(), 512, 64u << 20, n)) {
      err << "tcpscribe proxy: --buffer takes 512 to 67108864 bytes, not '"
          << vm["buffer"].as<std::string>() << "'\n";
      return false;
    }
    opt.buffer = n;
  }
  opt.fail_closed = vm.count("fail-closed") > 0;
  if (opt.fail_closed && opt.log_root.empty()) {
    err << "tcpscribe proxy: --fail-closed goes with --log-root (it refuses traffic that cannot be "
           "logged)\n";
    return false;
  }
  if (vm.count("max-connections")) {
    if (!parse_whole_number(vm["max-connections"].as<std::string>(), 1, 1'000'000, n)) {
      err << "tcpscribe proxy: --max-connections takes 1 to 1000000, not '"
          << vm["max-connections"].as<std::string>() << "'\n";
      return false;
    }
    opt.max_connections = n;
    opt.max_connections_given = true;
  }
  return true;
}

/// --tls-*: which sides speak TLS, and with what.
bool read_tls(const po::variables_map& vm, ProxyOptions& opt, std::ostream& err) {
  for (auto [name, out] : {std::pair{"tls-cert", &opt.tls_cert}, std::pair{"tls-key", &opt.tls_key},
                           std::pair{"tls-ca", &opt.tls_ca},
                           std::pair{"tls-keylog", &opt.tls_keylog}}) {
    if (!vm.count(name)) continue;
    *out = vm[name].as<std::string>();
    if (out->empty()) {
      err << "tcpscribe proxy: --" << name << " is empty\n";
      return false;
    }
  }
  opt.tls_upstream = vm.count("tls-upstream") > 0;
  opt.tls_insecure = vm.count("tls-insecure") > 0;
  if (opt.tls_cert.empty() != opt.tls_key.empty()) {
    err << "tcpscribe proxy: " << (opt.tls_cert.empty() ? "--tls-key needs --tls-cert"
                                                         : "--tls-cert needs --tls-key")
        << " (the certificate and its private key accept TLS clients together)\n";
    return false;
  }
  if (!opt.tls_upstream && (!opt.tls_ca.empty() || opt.tls_insecure)) {
    err << "tcpscribe proxy: " << (opt.tls_insecure ? "--tls-insecure" : "--tls-ca")
        << " goes with --tls-upstream (it is about the upstream's certificate)\n";
    return false;
  }
  if (opt.tls_insecure && !opt.tls_ca.empty()) {
    err << "tcpscribe proxy: --tls-ca and --tls-insecure contradict each other: verify with the CA "
           "file, or do not verify\n";
    return false;
  }
  if (!opt.tls_keylog.empty() && opt.tls_cert.empty() && !opt.tls_upstream) {
    err << "tcpscribe proxy: --tls-keylog needs a TLS side (--tls-cert/--tls-key or "
           "--tls-upstream)\n";
    return false;
  }
  return true;
}

}  // namespace

int parse_proxy_options(int argc, char** argv, ProxyOptions& opt, std::ostream& err) {
  po::variables_map vm;
  std::vector<std::string> positional;
  if (!parse_subcommand_line(argc, argv, visible_options(), vm, positional, "tcpscribe proxy", "",
                             err)) {
    return 1;
  }
  if (vm.count("help")) {
    opt.show_help = true;
    return 0;
  }
  if (vm.count("inspect")) {
    opt.inspect = vm["inspect"].as<std::vector<std::string>>();
    opt.inspect.insert(opt.inspect.end(), positional.begin(), positional.end());
    if (vm.count("extract")) opt.extract_dir = vm["extract"].as<std::string>();
    return 0;
  }
  if (vm.count("extract")) {
    err << "tcpscribe proxy: --extract goes with --inspect\n";
    return 1;
  }
  if (!read_endpoints(vm, positional, opt, err) || !read_view(vm, opt, err) ||
      !read_outputs(vm, opt, err) || !read_limits(vm, opt, err) || !read_tls(vm, opt, err)) {
    return 1;
  }
  return 0;
}

}  // namespace tcpscribe
