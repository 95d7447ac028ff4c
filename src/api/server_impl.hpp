// Internal to the two Beast translation units (https_server.cpp, https_session.cpp).
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <map>
#include <mutex>

#include "api/https_server.hpp"
#include "runtime/task_group.hpp"

namespace castellan::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using TlsStream = asio::ssl::stream<beast::tcp_stream>;

struct HttpsServer::Impl {
  Impl(ApiService& api, const Config& config, TlsFiles tls, runtime::TaskRegistry& registry,
       asio::any_io_executor executor, std::vector<asio::any_io_executor> connection_executors);

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool ops);
  asio::awaitable<void> session(runtime::TaskRef self, tcp::socket socket);
  asio::awaitable<void> ops_session(tcp::socket socket);
  // Sends `reply`'s event feed as Server-Sent Events until it ends, the client goes or the
  // token expires.
  asio::awaitable<void> stream_events(runtime::TaskRef self, std::shared_ptr<TlsStream> stream,
                                      Reply reply);
  // Runs the API on `request` and waits for its reply, at most request_timeout (then 504).
  asio::awaitable<Reply> dispatch(Request request);

  // Every open connection can be closed from stop(): the closer posts to the connection's
  // strand and closes its socket, which ends whatever the session is waiting on.
  std::uint64_t track(std::function<void()> closer);
  void untrack(std::uint64_t id);

  ApiService& api;
  const Config& config;
  TlsFiles tls;
  asio::any_io_executor executor;
  std::vector<asio::any_io_executor> connection_executors;  // never empty
  std::size_t next_connection = 0;  // the API accept loop's turn over connection_executors
  asio::ssl::context ssl{asio::ssl::context::tls_server};
  tcp::acceptor api_acceptor;
  tcp::acceptor ops_acceptor;
  runtime::TaskGroup group;
  std::atomic<int> open{0};
  std::mutex mu;
  std::map<std::uint64_t, std::function<void()>> closers;
  std::uint64_t next_id = 1;
  bool stopped = false;
};

// `reply` as the bytes of an HTTP/1.x response (status line, headers, body).
std::string response_bytes(const Reply& reply, unsigned version, bool keep_alive);

}  // namespace castellan::api
