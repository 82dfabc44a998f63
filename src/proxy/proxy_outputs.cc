#include "proxy_outputs.h"

#include <cstdint>

#include "name_template.h"

namespace tcpscribe {

OutputConfig proxy_output_config(const ProxyOptions& opt, Timestamp start,
                                 const std::string& source) {
  OutputConfig c;
  c.console = false;  // the proxy's console view (proxy_console.h) shows the chunks
  c.files = !opt.outdir.empty();
  c.outdir = c.files ? opt.outdir : ".";
  c.name_template = kDefaultTemplate;
  c.max_fds = kProxyFlowFiles;
  c.quiet = opt.quiet;
  c.color = opt.color;
  // Only analyzers find anything in a proxied connection (no packets, no
  // TCP analysis); without them a findings printer would only cost the
  // zero-copy path.
  const bool analyzers = !opt.analyzers.empty() || !opt.har_path.empty() ||
                         !opt.messages_path.empty() || opt.decode || opt.slow > 0;
  c.findings_on_stderr = !opt.quiet && analyzers;
  c.netrecord_root = opt.log_root;
  c.netrecord_start = start;
  c.netrecord_max_files = SIZE_MAX;  // bounded by the connections themselves
  c.report_path = opt.report_path;
  c.html_path = opt.html_path;
  c.html_sources = {source};
  c.har_path = opt.har_path;
  c.messages_path = opt.messages_path;
  c.flat_records = opt.flat_records;
  c.decode = opt.decode;
  c.slow = opt.slow;
  c.analyzers = opt.analyzers;
  c.keep_encoded = false;
  return c;
}

}  // namespace tcpscribe
