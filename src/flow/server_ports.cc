#include "server_ports.h"

#include <algorithm>
#include <iterator>

namespace tcpscribe {
namespace {

// Sorted. Zeek's base scripts register: FTP 21 2811; SSH 22; Telnet and
// rlogin 23 513 543 544; SMTP 25 587; DNS 53; Finger 79; HTTP 80 81 631
// 1080 3128 8000 8080 8888; Kerberos 88; POP3 110; portmapper 111; DCE-RPC
// and SMB 135 139 445; IMAP 143; LDAP 389 3268; TLS 443 563 585 614 636
// 989 990 992 993 995 5223; Modbus 502; MySQL 3306; RDP 3389; MQTT 1883;
// XMPP 5222 5269; PostgreSQL 5432; Redis 6379; IRC 6666-6669; DNP3 20000.
// Added: 8443 (TLS, in Zeek's older list), 1433 (SQL Server), 1521
// (Oracle), 9200 (Elasticsearch), 11211 (memcached), 27017 (MongoDB).
constexpr uint16_t kPorts[] = {
    21,   22,   23,   25,   53,   79,   80,   81,   88,    110,  111,  135,  139,
    143,  389,  443,  445,  502,  513,  543,  544,  563,   585,  587,  614,  631,
    636,  989,  990,  992,  993,  995,  1080, 1433, 1521,  1883, 2811, 3128, 3268,
    3306, 3389, 5222, 5223, 5269, 5432, 6379, 6666, 6667,  6668, 6669, 8000, 8080,
    8443, 8888, 9200, 11211, 20000, 27017};

}  // namespace

bool likely_server_port(uint16_t port) {
  static_assert(std::is_sorted(std::begin(kPorts), std::end(kPorts)));
  return std::binary_search(std::begin(kPorts), std::end(kPorts), port);
}

bool first_segment_from_server(const Segment& s) {
  const bool syn = s.has(tcp_flags::kSyn);
  const bool ack = s.has(tcp_flags::kAck);
  if (syn) return ack;  // a SYN is the client's, a SYN-ACK the server's
  if (!likely_server_port(s.src.port)) return false;
  return !likely_server_port(s.dst.port) || s.src.port < s.dst.port;
}

}  // namespace tcpscribe
