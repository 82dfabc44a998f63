// TLS handshake messages (RFC 8446 4, RFC 5246 7.4): reassembled across
// records, and the fields tcpscribe reports or needs for keys parsed out of
// them. Every length is checked against what encloses it; nothing is read
// out of bounds, whatever the bytes.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "tls_keylog.h"

namespace tcpscribe {

enum TlsHandshakeType : uint8_t {
  kTlsClientHello = 1,
  kTlsServerHello = 2,
  kTlsNewSessionTicket = 4,
  kTlsEndOfEarlyData = 5,
  kTlsEncryptedExtensions = 8,
  kTlsCertificate = 11,
  kTlsServerKeyExchange = 12,
  kTlsCertificateRequest = 13,
  kTlsServerHelloDone = 14,
  kTlsCertificateVerify = 15,
  kTlsClientKeyExchange = 16,
  kTlsFinished = 20,
  kTlsKeyUpdate = 24,
};

struct TlsClientHello {
  uint16_t legacy_version = 0;
  TlsRandom random{};
  std::vector<uint8_t> session_id;
  std::vector<uint16_t> cipher_suites;
  std::string sni;                      ///< the first host_name, raw bytes
  std::vector<std::string> alpn;        ///< offered protocols
  std::vector<uint16_t> supported_versions;
  std::vector<uint16_t> key_share_groups;
  bool psk = false;                     ///< pre_shared_key offered (1.3 resumption)
  bool early_data = false;              ///< 0-RTT data follows
  bool session_ticket_ext = false;
  std::vector<uint8_t> session_ticket;  ///< the ticket offered (1.2 resumption)
  bool encrypt_then_mac = false;
  bool extended_master_secret = false;
};

struct TlsServerHello {
  uint16_t legacy_version = 0;
  TlsRandom random{};
  std::vector<uint8_t> session_id;
  uint16_t cipher_suite = 0;
  uint16_t selected_version = 0;        ///< supported_versions; 0: absent
  std::string alpn;
  bool hello_retry = false;             ///< a HelloRetryRequest (its special random)
  bool psk = false;                     ///< pre_shared_key accepted
  uint16_t key_share_group = 0;
  bool encrypt_then_mac = false;
  bool extended_master_secret = false;
  bool session_ticket_ext = false;      ///< the server will send a NewSessionTicket
  /// The negotiated version: supported_versions when present (TLS 1.3).
  uint16_t version() const { return selected_version ? selected_version : legacy_version; }
};

struct TlsEncryptedExtensions {
  std::string alpn;
  bool early_data = false;  ///< the server accepted 0-RTT
};

/// The leaf certificate's names, RFC 2253 ("CN=example.com,O=Example").
struct TlsCertificateNames {
  std::string subject;
  std::string issuer;
};

bool parse_client_hello(std::span<const uint8_t> body, TlsClientHello& out);
/// The body of a ClientHello's server_name extension: the first host_name
/// (empty if none); false when the list's length does not fit.
bool parse_sni_extension(std::span<const uint8_t> data, std::string& out);
/// The body of an application_layer_protocol_negotiation extension: the
/// protocols in order (as far as they are well formed); false when the
/// list's length does not fit.
bool parse_alpn_extension(std::span<const uint8_t> data, std::vector<std::string>& out);
bool parse_server_hello(std::span<const uint8_t> body, TlsServerHello& out);
bool parse_encrypted_extensions(std::span<const uint8_t> body, TlsEncryptedExtensions& out);
/// The first certificate of a Certificate message (`tls13`: with its
/// request context and per-entry extensions), decoded by libcrypto.
bool parse_certificate(std::span<const uint8_t> body, bool tls13, TlsCertificateNames& out);
/// A TLS 1.2 NewSessionTicket's ticket (RFC 5077 3.3).
bool parse_new_session_ticket12(std::span<const uint8_t> body, std::vector<uint8_t>& ticket);

/// Handshake messages of one direction out of the content of its
/// handshake records, a message possibly spread over many records and a
/// record holding many.
class TlsHandshakeReassembler {
 public:
  /// A longer message is skipped (its bytes dropped, counted); 256 KiB
  /// holds any certificate chain seen in practice.
  static constexpr size_t kMaxMessage = 256 * 1024;

  using OnMessage = std::function<void(uint8_t type, std::span<const uint8_t> body)>;
  void feed(std::span<const uint8_t> content, const OnMessage& on_message);
  /// Forgets a partial message (after a gap).
  void reset();
  /// No partial message pending: a record boundary is a message boundary.
  bool at_boundary() const { return head_.empty() && body_.empty() && skip_ == 0; }
  uint64_t messages() const { return messages_; }
  uint64_t oversized() const { return oversized_; }

 private:
  std::vector<uint8_t> head_;  // up to 4 header bytes
  std::vector<uint8_t> body_;
  size_t need_ = 0;            // body bytes still to come
  size_t skip_ = 0;            // bytes of an oversized message still to drop
  uint64_t messages_ = 0;
  uint64_t oversized_ = 0;
};

}  // namespace tcpscribe
