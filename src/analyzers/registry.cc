// Every protocol analyzer, one entry each: its name (-e NAME), a line for
// the help, the ports that hint at it, its probe and its factory.
#include <memory>

#include "analyzer.h"
#include "http.h"
#include "http2.h"
#include "http_probe.h"

namespace tcpscribe {

const std::vector<AnalyzerInfo>& analyzer_registry() {
  static const std::vector<AnalyzerInfo> registry = {
      {"http", "HTTP/1.x: requests and responses, bodies to FLOW-HTTPBODY-NNN, HTTP findings",
       {80, 8000, 8008, 8080, 8888, 3128}, probe_http1, make_http_analyzer},
      {"http2", "HTTP/2 (h2c, h2 inside TLS) and gRPC: streams, bodies to FLOW-HTTPBODY-NNN, findings",
       {}, probe_http2, make_http2_analyzer},
  };
  return registry;
}

const AnalyzerInfo* find_analyzer(const std::string& name) {
  for (const AnalyzerInfo& a : analyzer_registry()) {
    if (name == a.name) return &a;
  }
  return nullptr;
}

std::string analyzer_names() {
  std::string out;
  for (const AnalyzerInfo& a : analyzer_registry()) {
    if (!out.empty()) out += ", ";
    out += a.name;
  }
  return out;
}

}  // namespace tcpscribe
