// The API's TLS certificate. Unless api.tls_cert/tls_key are configured, the first start
// creates a local CA and a server certificate for 127.0.0.1/localhost in DATA_DIR/tls
// (EC P-256 keys, mode 0600), and later starts reuse them. Clients trust ca.pem. A generated
// server certificate with less than kRenewBefore left is renewed at start from the same CA
// (clients keep their ca.pem); a configured one that close to its end is warned about.
#pragma once

#include <string>

#include <chrono>

#include "core/config.hpp"
#include "core/result.hpp"
#include "core/time.hpp"

namespace castellan::api {

struct TlsFiles {
  std::string cert_chain;  // server certificate followed by the CA (PEM)
  std::string key;         // server private key (PEM, 0600)
  std::string ca;          // CA certificate (PEM); empty when configured files are used
};

inline constexpr auto kRenewBefore = std::chrono::days(30);

// Returns the configured files, or creates/reuses (and renews) the local CA + server
// certificate; `now` is the start's time.
Result<TlsFiles> ensure_tls_files(const Config& config, TimePoint now);

// Creates a fresh CA and server certificate in `dir` (overwriting). Exposed for tests.
Result<TlsFiles> generate_local_tls(const std::string& dir, TimePoint now);

}  // namespace castellan::api
