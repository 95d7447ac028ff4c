#include "api/tls_files.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "core/crypto.hpp"
#include "core/secrets.hpp"

namespace castellan::api {
namespace {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;
using Bio = std::unique_ptr<BIO, Free>;

Error tls_error(std::string what) {
  return make_error(Code::ERR_INTERNAL, "Could not create the TLS certificate: " + what + ".");
}

bool add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

Cert make_cert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, bool ca,
               long days, TimePoint now) {
  std::time_t t = std::chrono::system_clock::to_time_t(
      std::chrono::time_point_cast<std::chrono::system_clock::duration>(now));
  Cert cert(X509_new());
  if (!cert) return nullptr;
  X509_set_version(cert.get(), 2);
  const std::string serial = random_bytes(8);
  std::uint64_t s = 0;
  for (unsigned char c : serial) s = (s << 8) | c;
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), s >> 1);
  X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, -3600, &t);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), static_cast<int>(days), 0, &t);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Castellan"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok = true;
  if (ca) {
    ok = add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") &&
         add_ext(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign") &&
         add_ext(cert.get(), signer, NID_subject_key_identifier, "hash");
  } else {
    ok = add_ext(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         add_ext(cert.get(), signer, NID_key_usage, "critical,digitalSignature") &&
         add_ext(cert.get(), signer, NID_ext_key_usage, "serverAuth") &&
         add_ext(cert.get(), signer, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost") &&
         add_ext(cert.get(), signer, NID_authority_key_identifier, "keyid");
  }
  if (!ok || X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0)
    return nullptr;
  return cert;
}

std::string pem_of(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string pem_of(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// Certificates: readable by all, and as durable as the keys (a power cut during a renewal must
// not leave a new key beside an empty certificate).
Result<void> write_public(const std::string& path, const std::string& content) {
  return write_file_durably(path, content, 0644);
}

// The first certificate of a PEM file; null when there is none.
Cert read_cert(const std::string& path) {
  Bio bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return nullptr;
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Key read_key(const std::string& path) {
  Bio bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return nullptr;
  return Key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// Time left before the certificate's notAfter, from `now` (negative once it has passed).
std::optional<std::chrono::seconds> time_left(X509* cert, TimePoint now) {
  std::tm end{};
  if (cert == nullptr || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &end) != 1) return std::nullopt;
  const auto end_at = std::chrono::system_clock::from_time_t(timegm(&end));
  return std::chrono::duration_cast<std::chrono::seconds>(
      end_at - std::chrono::time_point_cast<std::chrono::system_clock::duration>(now));
}

// A new server key and certificate from the CA, written as generate_local_tls() writes them:
// valid 825 days, but never past the CA's own end (clients would refuse it from then on).
Result<void> issue_server_cert(const std::string& dir, X509* ca, EVP_PKEY* ca_key, TimePoint now) {
  Key server_key(EVP_EC_gen("P-256"));
  if (!server_key) return tls_error("EC P-256 key generation failed");
  long days = 825;
  if (auto ca_left = time_left(ca, now)) {
    days = std::min<long>(days, std::chrono::duration_cast<std::chrono::days>(*ca_left).count());
  }
  Cert server = make_cert(server_key.get(), "localhost", ca, ca_key, false, days, now);
  if (!server) return tls_error("signing the server certificate failed");
  if (auto w = write_secret_file(dir + "/server-key.pem", pem_of(server_key.get())); !w) {
    return w.error();
  }
  // Written last: its presence means the set is complete.
  return write_public(dir + "/server.pem", pem_of(server.get()) + pem_of(ca));
}

std::string days_text(std::chrono::seconds left) {
  return std::to_string(std::chrono::duration_cast<std::chrono::days>(left).count()) + " day(s)";
}

}  // namespace

Result<TlsFiles> generate_local_tls(const std::string& dir, TimePoint now) {
  if (auto d = ensure_private_dir(dir); !d) return d.error();
  Key ca_key(EVP_EC_gen("P-256"));
  if (!ca_key) return tls_error("EC P-256 key generation failed");
  Cert ca = make_cert(ca_key.get(), "Castellan local CA", nullptr, nullptr, true, 3650, now);
  if (!ca) return tls_error("signing the CA certificate failed");
  if (auto w = write_secret_file(dir + "/ca-key.pem", pem_of(ca_key.get())); !w) return w.error();
  if (auto w = write_public(dir + "/ca.pem", pem_of(ca.get())); !w) return w.error();
  if (auto w = issue_server_cert(dir, ca.get(), ca_key.get(), now); !w) return w.error();
  return TlsFiles{dir + "/server.pem", dir + "/server-key.pem", dir + "/ca.pem"};
}

Result<TlsFiles> ensure_tls_files(const Config& config, TimePoint now) {
  if (!config.api.tls_cert.empty() || !config.api.tls_key.empty()) {
    if (config.api.tls_cert.empty() || config.api.tls_key.empty()) {
      return make_error(Code::ERR_BAD_REQUEST,
                        "Set both api.tls_cert and api.tls_key, or neither.");
    }
    // A private key is a secret like the others: mode 0600, or the server does not start.
    if (auto key = read_secret_file(config.api.tls_key); !key) {
      return make_error(Code::ERR_UNAVAILABLE, "api.tls_key: " + key.error().message);
    }
    // Not ours to renew: said at every start from a month before its end.
    if (auto left = time_left(read_cert(config.api.tls_cert).get(), now)) {
      if (*left <= std::chrono::seconds::zero()) {
        spdlog::error("api.tls_cert {} has expired: clients refuse the API until it is renewed",
                      config.api.tls_cert);
      } else if (*left < kRenewBefore) {
        spdlog::warn("api.tls_cert {} expires in {}: renew it and restart", config.api.tls_cert,
                     days_text(*left));
      }
    }
    return TlsFiles{config.api.tls_cert, config.api.tls_key, ""};
  }
  const std::string dir = config.server.data_dir + "/tls";
  TlsFiles files{dir + "/server.pem", dir + "/server-key.pem", dir + "/ca.pem"};
  std::error_code ec;
  if (std::filesystem::exists(files.cert_chain, ec) && std::filesystem::exists(files.key, ec) &&
      std::filesystem::exists(files.ca, ec)) {
    // Both private keys, the CA's too: whoever reads it can mint certificates clients trust.
    for (const std::string& key_file : {files.key, dir + "/ca-key.pem"}) {
      if (!std::filesystem::exists(key_file, ec)) continue;  // a CA key may be kept elsewhere
      if (auto key = read_secret_file(key_file); !key) return key.error();
    }
    Cert cert = read_cert(files.cert_chain);
    Key key = read_key(files.key);
    const bool usable = cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
    const auto left = time_left(cert.get(), now);
    if (usable && (!left || *left >= kRenewBefore)) return files;
    Cert ca = read_cert(files.ca);
    Key ca_key = read_key(dir + "/ca-key.pem");
    if (!usable) {
      // Unreadable, or not the key's (a stop while a renewal was written): the API could not
      // start with it. A new one from the same CA if it can; a new CA is the operator's call,
      // as clients must then be given its ca.pem.
      const auto ca_left = time_left(ca.get(), now);
      if (!ca || !ca_key || !ca_left || *ca_left <= std::chrono::seconds::zero()) {
        return tls_error("the API's server certificate " + files.cert_chain +
                         " is unreadable or not its key's, and its CA cannot issue another "
                         "(" +
                         files.ca + " unreadable or expired, or " + dir +
                         "/ca-key.pem missing): delete " + dir +
                         " and restart for a new set (clients then need the new ca.pem)");
      }
      if (auto issued = issue_server_cert(dir, ca.get(), ca_key.get(), now); !issued) {
        return issued.error();
      }
      spdlog::warn(
          "the API's server certificate {} was unreadable or not its key's; a new one "
          "was issued from the same CA",
          files.cert_chain);
      return files;
    }
    // Near its end: a new server certificate from the same CA, so clients keep their ca.pem.
    const auto ca_left = time_left(ca.get(), now);
    if (!ca || !ca_key || !ca_left || *ca_left < kRenewBefore) {
      spdlog::warn(
          "the API's server certificate {} expires in {} and cannot be renewed from its "
          "CA (CA key missing or CA near its own end): delete {} and restart for a new "
          "set (clients then need the new ca.pem)",
          files.cert_chain, days_text(*left), dir);
      return files;
    }
    if (auto issued = issue_server_cert(dir, ca.get(), ca_key.get(), now); !issued) {
      return issued.error();
    }
    spdlog::info("the API's server certificate was renewed ({} were left); the CA is unchanged",
                 days_text(*left));
    return files;
  }
  return generate_local_tls(dir, now);
}

}  // namespace castellan::api
