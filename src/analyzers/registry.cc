// Every protocol analyzer, one entry each: its name (-e NAME), a line for
// the help, the ports that hint at it, its probe and its factory.
#include <memory>

#include "analyzer.h"
#include "http.h"
#include "http2.h"
#include "http_probe.h"
#include "mysql.h"
#include "postgresql.h"
#include "redis.h"
#include "tls_analyzer.h"
#include "tls_record.h"

namespace tcpscribe {

const std::vector<AnalyzerInfo>& analyzer_registry() {
  static const std::vector<AnalyzerInfo> registry = {
      {"http", "HTTP/1.x: requests and responses, bodies to FLOW-HTTPBODY-NNN, HTTP findings",
       {80, 8000, 8008, 8080, 8888, 3128}, probe_http1, make_http_analyzer},
      {"redis", "Redis (RESP2/RESP3): commands paired with their replies, pushes, errors",
       {6379}, probe_redis, make_redis_analyzer},
      {"postgresql", "PostgreSQL 3.0: queries and executes with their SQL, parameters, tags, errors",
       {5432}, probe_postgresql, make_postgresql_analyzer},
      {"mysql", "MySQL/MariaDB: login, queries, prepared statements with parameters, results, errors",
       {3306}, probe_mysql, make_mysql_analyzer},
      {"tls", "TLS 1.2/1.3: handshake facts; with --tls-keylog the plaintext, to the analyzers "
       "inside (by ALPN or probing), the console and FLOW-TLS",
       {443, 8443, 993, 995, 465, 636, 853, 989, 990, 992, 5061, 6697, 9443}, probe_tls,
       make_tls_analyzer},
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
