#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "api/replies.hpp"
#include "api/server_impl.hpp"
#include "core/log.hpp"

namespace castellan::api {
namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Result<tcp::endpoint> parse_endpoint(const std::string& text, const char* key) {
  const auto colon = text.rfind(':');
  boost::system::error_code ec;
  if (colon != std::string::npos) {
    std::string host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    const auto address = asio::ip::make_address(host, ec);
    const std::string port = text.substr(colon + 1);
    if (!ec && !port.empty() && port.size() <= 5 &&
        port.find_first_not_of("0123456789") == std::string::npos && std::stoi(port) <= 65535) {
      return tcp::endpoint(address, static_cast<unsigned short>(std::stoi(port)));
    }
  }
  return make_error(Code::ERR_BAD_REQUEST,
                    std::string(key) + " must be ADDRESS:PORT, got '" + text + "'.");
}

Result<void> listen_on(tcp::acceptor& acceptor, const std::string& text, const char* key) {
  auto endpoint = parse_endpoint(text, key);
  if (!endpoint) return endpoint.error();
  boost::system::error_code ec;
  acceptor.open(endpoint->protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(*endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(Code::ERR_UNAVAILABLE,
                      "Cannot listen on " + text + " (" + key + "): " + ec.message() + ".");
  }
  return {};
}

}  // namespace

HttpsServer::Impl::Impl(ApiService& api_, const Config& config_, TlsFiles tls_,
                        runtime::TaskRegistry& registry, asio::any_io_executor executor_,
                        std::vector<asio::any_io_executor> connection_executors_)
    : api(api_),
      config(config_),
      tls(std::move(tls_)),
      executor(executor_),
      connection_executors(connection_executors_.empty()
                               ? std::vector<asio::any_io_executor>{executor_}
                               : std::move(connection_executors_)),
      api_acceptor(executor),
      ops_acceptor(executor),
      group(registry, "api") {}

std::uint64_t HttpsServer::Impl::track(std::function<void()> closer) {
  std::lock_guard lock(mu);
  const auto id = next_id++;
  if (stopped) closer();  // accepted while stopping: close at once
  closers.emplace(id, std::move(closer));
  return id;
}

void HttpsServer::Impl::untrack(std::uint64_t id) {
  std::lock_guard lock(mu);
  closers.erase(id);
}

std::string response_bytes(const Reply& reply, unsigned version, bool keep_alive) {
  // Formatted by hand into one buffer, written as one TLS record: our replies have a fixed,
  // small set of headers, and Beast's serializer builds a field list per response and hands
  // the TLS stream its buffers one at a time.
  const auto status = static_cast<http::status>(reply.status);
  const bool bodyless = reply.status / 100 == 1 || reply.status == 204 || reply.status == 304;
  std::string out;
  out.reserve(160 + reply.body.size());
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(reply.status);
  out += ' ';
  out += http::obsolete_reason(status);
  out += "\r\n";
  if (!reply.body.empty()) {
    out += "Content-Type: ";
    out += reply.content_type;
    out += "\r\n";
  }
  out += "Cache-Control: no-store\r\n";
  if (!bodyless) {
    out += "Content-Length: ";
    out += std::to_string(reply.body.size());
    out += "\r\n";
  }
  // HTTP/1.1 keeps the connection by default and HTTP/1.0 closes it (RFC 9112 §9.3).
  if (!keep_alive && version != 10) out += "Connection: close\r\n";
  if (keep_alive && version == 10) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  if (!bodyless) out += reply.body;
  return out;
}

asio::awaitable<void> HttpsServer::Impl::accept_loop(tcp::acceptor& acceptor, bool ops) {
  // stop() closes the acceptor on this task's strand: an acceptor is not safe to close from
  // another thread while an accept is being started or completed on it.
  auto strand = co_await asio::this_coro::executor;
  const auto tracked = track([strand, &acceptor] {
    asio::post(strand, [&acceptor] {
      boost::system::error_code ignored;
      acceptor.close(ignored);
    });
  });
  struct Untrack {
    Impl* impl;
    std::uint64_t id;
    ~Untrack() { impl->untrack(id); }
  } untrack{this, tracked};
  for (;;) {
    // An API connection is accepted onto the next connection executor, and its session runs
    // there: all of its handlers on one thread.
    const asio::any_io_executor target =
        ops ? executor : connection_executors[next_connection++ % connection_executors.size()];
    auto [ec, socket] = co_await acceptor.async_accept(target, kTuple);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // E.g. out of file descriptors: back off instead of spinning.
      spdlog::warn("accept on {} failed: {}", ops ? "ops listener" : "api listener", ec.message());
      asio::steady_timer pause(executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(kTuple);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    // Counted here, before the session task starts, so that a burst of accepts cannot pass the
    // limit; the session gives its place back when it ends.
    if (!ops && open.fetch_add(1) >= config.api.max_connections) {
      open.fetch_sub(1);
      api.metrics().connection_refused();
      socket.close(ec);
      continue;
    }
    auto holder = std::make_shared<tcp::socket>(std::move(socket));
    if (ops) {
      group.spawn(executor, "ops connection", ops_session(std::move(*holder)));
    } else if (group.spawn(target, "api connection",
                           runtime::TaskGroup::Body([this, holder](runtime::TaskRef self) {
                             return session(self, std::move(*holder));
                           })) == 0) {
      open.fetch_sub(1);  // the group is closing: the session never starts
    }
  }
}

// The ops listener answers one plain-HTTP request per connection.
asio::awaitable<void> HttpsServer::Impl::ops_session(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  http::request_parser<http::empty_body> parser;
  parser.header_limit(8 * 1024);
  stream.expires_after(std::chrono::milliseconds(config.api.request_timeout_ms));
  auto [ec, n] = co_await http::async_read(stream, buffer, parser, kTuple);
  if (ec) co_return;
  const auto& req = parser.get();
  const std::string target(req.target());
  Reply reply;
  if (req.method() != http::verb::get) {
    reply = error_reply(Code::ERR_NOT_FOUND, "The ops listener serves GET only.", new_trace_id());
  } else if (target == "/metrics") {
    reply = Reply{200, api.render_metrics(), "text/plain; version=0.0.4; charset=utf-8"};
  } else if (target == "/healthz") {
    reply = Reply{200, "{\"status\":\"alive\"}"};
  } else if (target == "/readyz") {
    boost::json::object components;
    bool all = true;
    if (api.context().readiness) {
      for (const auto& item : api.context().readiness()) {
        components[item.name] = item.ready ? "up" : "down";
        all = all && item.ready;
      }
    }
    reply = json_reply(all ? 200 : 503,
                       boost::json::object{{"ready", all}, {"components", components}});
  } else {
    reply = error_reply(Code::ERR_NOT_FOUND, "There is no route " + target + ".", new_trace_id());
  }
  const auto bytes = response_bytes(reply, req.version(), false);
  co_await asio::async_write(stream, asio::buffer(bytes), kTuple);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

HttpsServer::HttpsServer(ApiService& api, const Config& config, TlsFiles tls,
                         runtime::TaskRegistry& registry, boost::asio::any_io_executor executor,
                         std::vector<boost::asio::any_io_executor> connection_executors)
    : impl_(std::make_unique<Impl>(api, config, std::move(tls), registry, executor,
                                   std::move(connection_executors))) {}

HttpsServer::~HttpsServer() {
  stop();
}

Result<void> HttpsServer::start() {
  auto& ssl = impl_->ssl;
  SSL_CTX* native = ssl.native_handle();
  // TLS 1.3 only (contract §6): older versions fail the handshake.
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return make_error(Code::ERR_INTERNAL, "OpenSSL refused to restrict the API to TLS 1.3.");
  }
  boost::system::error_code ec;
  ssl.use_certificate_chain_file(impl_->tls.cert_chain, ec);
  if (ec) {
    return make_error(Code::ERR_BAD_REQUEST, "Cannot load the TLS certificate " +
                                                 impl_->tls.cert_chain + ": " + ec.message() + ".");
  }
  ssl.use_private_key_file(impl_->tls.key, asio::ssl::context::pem, ec);
  if (ec) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "Cannot load the TLS key " + impl_->tls.key + ": " + ec.message() + ".");
  }
  if (auto r = listen_on(impl_->api_acceptor, impl_->config.api.listen, "api.listen"); !r) return r;
  if (auto r = listen_on(impl_->ops_acceptor, impl_->config.ops.listen, "ops.listen"); !r) return r;
  impl_->group.spawn(impl_->executor, "api accept", impl_->accept_loop(impl_->api_acceptor, false),
                     {.daemon = true});
  impl_->group.spawn(impl_->executor, "ops accept", impl_->accept_loop(impl_->ops_acceptor, true),
                     {.daemon = true});
  spdlog::info("HTTPS API listening on {}:{}, ops on {}:{}",
               impl_->api_acceptor.local_endpoint().address().to_string(), api_port(),
               impl_->ops_acceptor.local_endpoint().address().to_string(), ops_port());
  return {};
}

void HttpsServer::stop() {
  if (!impl_) return;
  std::map<std::uint64_t, std::function<void()>> closers;
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopped) return;
    impl_->stopped = true;
    closers = impl_->closers;
  }
  // The two accept loops' closers and every connection's: each posts the close to its task's
  // strand. Closing the group then waits for those tasks, which end only after their close ran
  // (a strand runs in order), so nothing posted here can outlive this object.
  for (auto& [id, close] : closers) close();
  impl_->group.close_blocking(std::chrono::seconds(5));
}

unsigned short HttpsServer::api_port() const {
  boost::system::error_code ec;
  return impl_->api_acceptor.local_endpoint(ec).port();
}
unsigned short HttpsServer::ops_port() const {
  boost::system::error_code ec;
  return impl_->ops_acceptor.local_endpoint(ec).port();
}
std::size_t HttpsServer::open_connections() const {
  return static_cast<std::size_t>(impl_->open.load());
}

}  // namespace castellan::api
