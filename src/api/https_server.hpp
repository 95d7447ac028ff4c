// The HTTPS API listener (TLS 1.3 only, keep-alive, size and time limits, SSE) and the plain
// HTTP ops listener (/metrics, /healthz, /readyz). All Beast/Asio code of the API lives in
// https_server.cpp; every connection is a task of the runtime's TaskGroup "api".
//
// Limits (config [api]): header_limit_bytes → 400; max_body_bytes → 413 (Content-Length is
// checked before the body is read; chunked bodies stop at the limit); request_timeout_ms for
// the TLS handshake, a whole request and each response write; idle_timeout_ms between
// requests; max_connections (further connections are closed at accept).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <vector>

#include "api/api_service.hpp"
#include "api/tls_files.hpp"
#include "core/config.hpp"
#include "core/result.hpp"

namespace castellan::runtime {
class TaskRegistry;
}

namespace castellan::api {

class HttpsServer {
 public:
  // The listeners run on `executor`; API connections are spread over `connection_executors`
  // in turn (each is served by the one it got), or run on `executor` when it is empty.
  HttpsServer(ApiService& api, const Config& config, TlsFiles tls, runtime::TaskRegistry& registry,
              boost::asio::any_io_executor executor,
              std::vector<boost::asio::any_io_executor> connection_executors = {});
  // Stops (see stop()).
  ~HttpsServer();
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;

  // Loads the certificate and binds api.listen and ops.listen (port 0 picks a free port).
  Result<void> start();
  // Closes the listeners and every connection (SSE streams included) and waits for their
  // tasks to end. Call from a thread that is not one of the executor's io threads.
  void stop();

  unsigned short api_port() const;
  unsigned short ops_port() const;
  std::size_t open_connections() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace castellan::api
