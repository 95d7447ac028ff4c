// A small synchronous HTTPS/HTTP client for the API tests (Beast), with keep-alive.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace castellan::api::testing {

struct HttpResult {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
};

class HttpsClient {
 public:
  // Connects and completes a TLS handshake, trusting `ca_file`. max_tls12: offer TLS 1.2 only.
  // from: the local address to connect from (another loopback address is another client).
  HttpsClient(unsigned short port, const std::string& ca_file, bool max_tls12 = false,
              const std::string& from = "");
  ~HttpsClient();
  bool connected() const;  // false when the handshake failed
  std::string handshake_error() const;
  HttpResult request(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {});
  // Raw bytes on the TLS stream (for slow-client and chunked tests).
  void write_raw(const std::string& bytes);
  // Reads until `needle` appears, the peer closes or 10 s pass without data; returns what was
  // read.
  std::string read_until(const std::string& needle);
  // True when the server closed the connection (a read returns EOF or an error) before 10 s
  // passed without data; false when it kept the connection open.
  bool closed_by_peer();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// One plain HTTP GET against the ops listener.
HttpResult http_get(unsigned short port, const std::string& target);

}  // namespace castellan::api::testing
