#include "https_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>

namespace castellan::api::testing {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpsClient::Impl {
  asio::io_context io;
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  std::unique_ptr<asio::ssl::stream<tcp::socket>> stream;
  beast::flat_buffer buffer;
  std::string error;
  bool ok = false;
};

HttpsClient::HttpsClient(unsigned short port, const std::string& ca_file, bool max_tls12,
                         const std::string& from)
    : impl_(std::make_unique<Impl>()) {
  impl_->ctx.load_verify_file(ca_file);
  impl_->ctx.set_verify_mode(asio::ssl::verify_peer);
  if (max_tls12) SSL_CTX_set_max_proto_version(impl_->ctx.native_handle(), TLS1_2_VERSION);
  impl_->stream = std::make_unique<asio::ssl::stream<tcp::socket>>(impl_->io, impl_->ctx);
  SSL_set_tlsext_host_name(impl_->stream->native_handle(), "localhost");
  impl_->stream->set_verify_callback(asio::ssl::host_name_verification("127.0.0.1"));
  boost::system::error_code ec;
  if (!from.empty()) {
    auto& socket = impl_->stream->next_layer();
    socket.open(tcp::v4(), ec);
    if (!ec) socket.bind(tcp::endpoint(asio::ip::make_address(from), 0), ec);
  }
  if (!ec)
    impl_->stream->next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                                        ec);
  if (!ec) impl_->stream->handshake(asio::ssl::stream_base::client, ec);
  impl_->ok = !ec;
  impl_->error = ec.message();
}

HttpsClient::~HttpsClient() = default;
bool HttpsClient::connected() const {
  return impl_->ok;
}
std::string HttpsClient::handshake_error() const {
  return impl_->error;
}

HttpResult HttpsClient::request(const std::string& method, const std::string& target,
                                const std::string& body,
                                const std::map<std::string, std::string>& headers) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  if (req.method() == http::verb::unknown) req.method_string(method);  // an invented method
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(*impl_->stream, req);
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 << 20);
  http::read(*impl_->stream, impl_->buffer, parser);
  HttpResult out;
  out.status = static_cast<int>(parser.get().result_int());
  out.body = parser.get().body();
  for (const auto& f : parser.get())
    out.headers[std::string(f.name_string())] = std::string(f.value());
  return out;
}

void HttpsClient::write_raw(const std::string& bytes) {
  asio::write(*impl_->stream, asio::buffer(bytes));
}

namespace {

// Reads what comes within `timeout`; ec is timed_out when nothing did. (A blocking read with
// SO_RCVTIMEO would not do: asio waits again with poll() when recv gives up.)
std::size_t read_some_for(HttpsClient::Impl& impl, asio::mutable_buffer into,
                          std::chrono::seconds timeout, boost::system::error_code& ec) {
  std::size_t n = 0;
  bool done = false;
  impl.stream->async_read_some(into, [&](boost::system::error_code e, std::size_t got) {
    ec = e;
    n = got;
    done = true;
  });
  impl.io.restart();
  impl.io.run_for(timeout);
  if (!done) {
    impl.stream->next_layer().cancel();
    impl.io.restart();
    impl.io.run();
    ec = asio::error::timed_out;
  }
  return n;
}

constexpr std::chrono::seconds kReadTimeout{10};

}  // namespace

std::string HttpsClient::read_until(const std::string& needle) {
  std::string got = beast::buffers_to_string(impl_->buffer.data());
  impl_->buffer.consume(impl_->buffer.size());
  char chunk[4096];
  while (got.find(needle) == std::string::npos) {
    boost::system::error_code ec;
    const auto n = read_some_for(*impl_, asio::buffer(chunk), kReadTimeout, ec);
    if (ec) break;
    got.append(chunk, n);
  }
  return got;
}

bool HttpsClient::closed_by_peer() {
  char chunk[256];
  boost::system::error_code ec;
  for (;;) {
    read_some_for(*impl_, asio::buffer(chunk), kReadTimeout, ec);
    if (ec) return ec != asio::error::timed_out;
  }
}

HttpResult http_get(unsigned short port, const std::string& target) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1");
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return HttpResult{static_cast<int>(res.result_int()), res.body(), {}};
}

}  // namespace castellan::api::testing
