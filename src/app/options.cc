#include "options.h"

#include <boost/program_options.hpp>
#include <ostream>
#include <sstream>

#include "name_template.h"

namespace po = boost::program_options;

namespace tcpscribe {
namespace {

po::options_description visible_options() {
  po::options_description d("Options");
  // clang-format off
  d.add_options()
    ("help,h", "show this help and exit")
    ("version,V", "print the version and exit")
    ("read,r", po::value<std::vector<std::string>>(), "read packets from a pcap/pcapng FILE ('-' = stdin, read as it arrives); repeatable: all are merged by timestamp")
    ("interface,i", po::value<std::string>(), "capture live on IFACE ('any' for all interfaces)")
    ("no-promiscuous,p", "do not put the interface into promiscuous mode")
    ("buffer-size", po::value<size_t>(), "kernel capture buffer in MiB (default 64)")
    ("queue-size", po::value<size_t>(), "MiB of packets queued between capture and reassembly (default 256)")
    ("snaplen", po::value<int>(), "bytes captured per packet (default 262144: all)")
    ("relinquish-privileges,U", po::value<std::string>(), "after opening the capture and the output, switch to USER")
    ("chroot,z", po::value<std::string>(), "with -U, chroot to DIR after opening them")
    ("finish,R", po::value<std::vector<std::string>>(), "read FILE (merged by timestamp) only to finish connections the -r files opened")
    ("outdir,o", po::value<std::string>(), "write flow files into DIR (default '.'; created if missing)")
    ("console,c", "print the conversation on stdout instead of writing files")
    ("console-noheader,C", "like -c, without the 'src-dst: ' header")
    ("hex,D", "console output as a hex dump (with -c or -C)")
    ("binary,B", "console output byte for byte (no '.' for non-printables)")
    ("no-newline,0", "console: no newline after each chunk, no [reset]/[closed] lines (with -C -B: the exact stream)")
    ("strip,s", "replace non-printable bytes with '.' (files too)")
    ("max-bytes,b", po::value<uint64_t>(), "keep at most N bytes of each direction of a flow")
    ("template,T", po::value<std::string>(), "file name template (default %A.%a-%B.%b%V%v%C%c)")
    ("format,F", po::value<std::vector<std::string>>(), "file name prefixes: c count, t time_t, T ISO time, k/m/g bins, X no files")
    ("index,I", "write FILE.findx beside each flow file: offset|time|length")
    ("enable,e", po::value<std::vector<std::string>>(), "enable a scanner: http (parse HTTP/1.x, extract bodies to FLOW-HTTPBODY-NNN, HTTP findings)")
    ("no-decompress,Z", "with -e http: keep bodies as sent (do not decode gzip/deflate)")
    ("netrecord", po::value<std::string>(), "write one netrecord log per connection: ROOT_1, ROOT_2, ... (never overwrites logs)")
    ("report", po::value<std::string>(), "write a JSON Lines report to FILE: one object per connection as it ends (- = stdout)")
    ("html", po::value<std::string>(), "write a single-file HTML report to FILE: connections on a timeline, packets, HTTP, details (opens offline)")
    ("dfxml,X", po::value<std::string>(), "write a DFXML report to FILE, like tcpflow's report.xml")
    ("har", po::value<std::string>(), "write an HTTP Archive 1.2 of every HTTP transaction to FILE (implies -e http; - = stdout)")
    ("max-fds,f", po::value<size_t>(), "use at most N file descriptors for flow files")
    ("writer-threads", po::value<size_t>(), "threads that create and write flow files (default 2; 0 = none)")
    ("quiet,q", "no warnings, no progress line")
    ("verbose,v", "statistics and details on stderr (and routine findings)")
    ("color", po::value<std::string>(), "console colors: auto (default), always, never; NO_COLOR disables auto")
    ("max-flows", po::value<size_t>(), "open connections held at once before the oldest is closed (default 1000000)")
    ("max-buffer", po::value<size_t>(), "MiB of out-of-order data held in all (default 256)")
    ("max-flow-buffer", po::value<size_t>(), "MiB of out-of-order data held per direction (default 16)")
    ("reorder-window", po::value<size_t>(), "packets held to restore timestamp order (default 256; 0 = capture order)")
    ("idle-timeout", po::value<double>(), "close connections idle this many seconds of capture time (default 900; 0 = never)");
  // clang-format on
  return d;
}

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
  // -r and -R keep their command-line order.
  for (const po::option& o : parsed.options) {
    if (o.string_key == "read" || o.string_key == "finish") {
      for (const std::string& v : o.value) {
        opt.inputs.push_back({v, o.string_key == "finish"});
      }
    }
  }
  opt.show_help = vm.count("help");
  opt.show_version = vm.count("version");
  if (vm.count("expression")) {
    std::ostringstream s;
    for (const std::string& w : vm["expression"].as<std::vector<std::string>>()) {
      if (s.tellp() > 0) s << ' ';
      s << w;
    }
    opt.filter = s.str();
  }
  if (vm.count("outdir")) opt.outdir = vm["outdir"].as<std::string>();
  if (vm.count("interface")) {
    opt.interface = vm["interface"].as<std::string>();
    opt.live = true;
  }
  opt.promiscuous = !vm.count("no-promiscuous");
  if (vm.count("buffer-size")) opt.buffer_mib = vm["buffer-size"].as<size_t>();
  if (vm.count("queue-size")) opt.queue_mib = vm["queue-size"].as<size_t>();
  if (vm.count("snaplen")) opt.snaplen = vm["snaplen"].as<int>();
  if (vm.count("relinquish-privileges")) opt.user = vm["relinquish-privileges"].as<std::string>();
  if (vm.count("chroot")) opt.chroot_dir = vm["chroot"].as<std::string>();
  if (!opt.chroot_dir.empty() && opt.user.empty()) {
    err << "tcpscribe: -z needs -U USER (chroot only makes sense when dropping root)\n";
    return kExitUsage;
  }
  if (opt.live && !opt.inputs.empty()) {
    err << "tcpscribe: give either -i IFACE or -r FILE, not both\n";
    return kExitUsage;
  }
  if (opt.snaplen <= 0 || opt.buffer_mib == 0 || opt.queue_mib == 0) {
    err << "tcpscribe: --snaplen, --buffer-size and --queue-size must be positive\n";
    return kExitUsage;
  }
  opt.console = vm.count("console") || vm.count("console-noheader");
  opt.console_header = !vm.count("console-noheader");
  opt.hex = vm.count("hex");
  opt.binary = vm.count("binary");
  opt.chunk_newline = !vm.count("no-newline");
  opt.strip_nonprint = vm.count("strip");
  opt.write_index = vm.count("index");
  if (vm.count("enable")) {
    for (const std::string& e : vm["enable"].as<std::vector<std::string>>()) {
      if (e == "http" || e == "all") {
        opt.http = true;
      } else {
        err << "tcpscribe: -e: unknown scanner '" << e << "' (known: http)\n";
        return kExitUsage;
      }
    }
  }
  opt.keep_encoded = vm.count("no-decompress");
  if (vm.count("netrecord")) opt.netrecord_root = vm["netrecord"].as<std::string>();
  if (vm.count("report")) opt.report_path = vm["report"].as<std::string>();
  if (vm.count("html")) opt.html_path = vm["html"].as<std::string>();
  if (vm.count("dfxml")) opt.dfxml_path = vm["dfxml"].as<std::string>();
  for (int i = 0; i < argc; ++i) {
    if (i > 0) opt.command_line += ' ';
    opt.command_line += argv[i];
  }
  if (vm.count("har")) {
    opt.har_path = vm["har"].as<std::string>();
    opt.http = true;
  }
  opt.quiet = vm.count("quiet");
  opt.verbose = static_cast<int>(vm.count("verbose"));
  if (vm.count("max-bytes")) opt.max_bytes = vm["max-bytes"].as<uint64_t>();
  if (vm.count("writer-threads")) opt.writer_threads = vm["writer-threads"].as<size_t>();
  if (vm.count("max-fds")) opt.max_fds = vm["max-fds"].as<size_t>();
  if (vm.count("reorder-window")) opt.reorder_window = vm["reorder-window"].as<size_t>();
  if (vm.count("max-flows")) opt.max_flows = vm["max-flows"].as<size_t>();
  if (vm.count("max-buffer")) opt.max_buffer_mib = vm["max-buffer"].as<size_t>();
  if (vm.count("max-flow-buffer")) opt.max_flow_buffer_mib = vm["max-flow-buffer"].as<size_t>();
  if (vm.count("idle-timeout")) {
    const double s = vm["idle-timeout"].as<double>();
    if (s < 0) {
      err << "tcpscribe: --idle-timeout must be 0 or more seconds\n";
      return kExitUsage;
    }
    opt.idle_timeout = static_cast<Timestamp>(s * kNanosPerSecond);
  }
  if (opt.max_flows == 0) {
    err << "tcpscribe: --max-flows must be at least 1\n";
    return kExitUsage;
  }
  if (vm.count("color")) {
    const std::string c = vm["color"].as<std::string>();
    if (!parse_color_mode(c, opt.color)) {
      err << "tcpscribe: --color takes auto, always or never, not '" << c << "'\n";
      return kExitUsage;
    }
  }
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
        return kExitUsage;
      }
    }
  }
  if (!validate_template(tmpl, error)) {
    err << "tcpscribe: " << error << "\n";
    return kExitUsage;
  }
  opt.name_template = tmpl;
  if (!opt.show_help && !opt.show_version && opt.inputs.empty() && !opt.live) {
    err << "tcpscribe: no input: give a capture file with -r FILE or an interface with -i "
           "IFACE (see tcpscribe --help)\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace tcpscribe
