// Command line of `tcpscribe proxy`: one struct, filled by
// Boost.Program_options.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "color.h"
#include "tcpscribe/packet.h"

namespace boost::program_options {
class options_description;
class variables_map;
}  // namespace boost::program_options

namespace tcpscribe {

/// A host (name, IPv4, or IPv6 without brackets) and a port.
struct HostPort {
  std::string host;  ///< empty: all interfaces (listen) / invalid (forward)
  uint16_t port = 0;
};

/// Parses "127.0.0.1:6380", "[::1]:8080", "localhost:80", ":8080" (all
/// interfaces). Returns false with `error` set.
bool parse_host_port(const std::string& s, HostPort& out, std::string& error);


struct ProxyOptions {
  HostPort listen;
  HostPort forward;
  std::string log_root;          ///< empty: no logs
  bool hex = false;              ///< -D: hexdump -C style dump
  bool dump = true;              ///< --no-dump clears it
  uint64_t max_dump = UINT64_MAX;
  bool max_dump_given = false;   ///< --max-dump N|all; else a screenful on a terminal
  /// --timestamps: none, relative ("+1.234567", seconds since the proxy
  /// started) or absolute (local time of day, as tcpdump prints it).
  enum class Stamps { kNone, kRelative, kAbsolute } timestamps = Stamps::kNone;
  bool json = false;
  bool quiet = false;            ///< -q: no console view at all
  ColorMode color = ColorMode::kAuto;
  double idle_timeout = 0;       ///< seconds without data before closing; 0: never
  double connect_timeout = 10;
  double drain = 5;              ///< seconds open connections get after SIGINT/SIGTERM
  size_t buffer = 1 << 20;       ///< bytes read at once and held per direction
  size_t max_connections = 10000;
  bool max_connections_given = false;
  bool fail_closed = false;      ///< --fail-closed: reset a connection whose log fails  ///< else derived from the descriptor limit
  // The outputs the passive modes have, fed by the same events (OutputSet):
  // empty / false = not asked for.
  std::string report_path;       ///< --report: JSON Lines per connection (- = stdout)
  std::string messages_path;     ///< --messages: JSON Lines per exchange (- = stdout)
  bool flat_records = false;     ///< --flat-records: --report and --messages lines flat
  std::string html_path;         ///< --html
  std::string har_path;          ///< --har (- = stdout)
  std::string outdir;            ///< -o: flow files in DIR; empty: none
  std::vector<std::string> analyzers;  ///< -e NAME, repeatable
  bool decode = false;           ///< --decode: messages instead of chunks
  std::vector<std::string> redact;  ///< --redact: PCRE2 patterns or `auth` (redact_rules.h)
  Timestamp slow = 0;            ///< --slow: a finding per answer slower than this; 0: off
  // TLS termination (proxy_tls.h): empty / false = plain TCP on that side.
  std::string tls_cert;          ///< --tls-cert: accept TLS clients with this certificate (PEM chain)
  std::string tls_key;           ///< --tls-key: its private key (PEM)
  bool tls_upstream = false;     ///< --tls-upstream: speak TLS to the upstream
  std::string tls_ca;            ///< --tls-ca: verify the upstream with these CAs (else the system's)
  bool tls_insecure = false;     ///< --tls-insecure: do not verify the upstream
  std::string tls_keylog;        ///< --tls-keylog: append the proxy's session keys (NSS format)
  bool stats = false;            ///< --stats: the live panel on stderr's terminal
  std::string stats_json;        ///< --stats-json FILE (- = stdout, with -q)
  double stats_interval = 1.0;   ///< --stats-interval SECONDS
  std::vector<std::string> inspect;  ///< --inspect: read logs instead of proxying
  std::string extract_dir;       ///< --extract DIR with --inspect
  bool show_help = false;
};

/// The parsing `proxy` and `replay` share: the `visible` options, every
/// other word into `positional`. False after printing
/// "`who`: <Boost's message><hint>" to `err`.
bool parse_subcommand_line(int argc, char** argv,
                           const boost::program_options::options_description& visible,
                           boost::program_options::variables_map& vm,
                           std::vector<std::string>& positional, const char* who,
                           const char* hint, std::ostream& err);

/// Parses `proxy ...` (argv[0] is "proxy"). Returns 0 with `opt` filled, or
/// 1 after printing one line to `err`.
int parse_proxy_options(int argc, char** argv, ProxyOptions& opt, std::ostream& err);
void print_proxy_help(std::ostream& out);

}  // namespace tcpscribe
