// One HTTPS connection: TLS handshake, keep-alive request loop with limits, dispatch to the
// ApiService, and the Server-Sent Events stream.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>

#include "api/event_feed.hpp"
#include "api/replies.hpp"
#include "api/server_impl.hpp"
#include "core/log.hpp"

namespace castellan::api {
namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
// Room beyond the header limit for what a body leaves unparsed at a time (Beast reads up to
// 64 KiB at once): a chunk-size line with its extensions, or the trailers.
constexpr std::size_t kMaxUnparsedBodyBytes = 64 * 1024;
using namespace asio::experimental::awaitable_operators;
using runtime::WaitKind;
using runtime::WaitMarker;

Request to_request(const http::request<http::string_body>& msg, const std::string& client) {
  Request r;
  r.method = std::string(msg.method_string());
  auto url = boost::urls::parse_origin_form(msg.target());
  if (url) {
    r.path = url->path();
    // A '+' is a plus (RFC 3986), not the space of HTML forms: `from=…T04:05:06+01:00` as
    // typed. A space is sent as %20.
    for (const auto& param : url->params(boost::urls::encoding_opts{})) {
      if (!r.query.emplace(param.key, param.value).second) r.repeated_param = param.key;
    }
  } else {
    r.path = std::string(msg.target());
    r.target_error = url.error().message();
  }
  r.body = msg.body();
  r.authorization = std::string(msg[http::field::authorization]);
  r.traceparent = std::string(msg["traceparent"]);
  r.last_event_id = std::string(msg["Last-Event-ID"]);
  r.client_address = client;
  return r;
}

}  // namespace

asio::awaitable<Reply> HttpsServer::Impl::dispatch(Request request) {
  // Most handlers answer before api.handle returns: then there is nothing to wait for, and
  // neither a timer nor a wake-up is made. Otherwise the connection's strand waits on a timer
  // that the reply cancels (or that fires after request_timeout: 504).
  struct Pending {
    std::mutex mu;
    std::optional<Reply> reply;
    std::optional<asio::steady_timer> timer;  // set once the strand waits; used on the strand
  };
  auto ex = co_await asio::this_coro::executor;
  auto pending = std::make_shared<Pending>();
  auto claim = std::make_shared<ReplyClaim>();
  const std::string trace_id = trace_id_from(request.traceparent);
  request.traceparent = "00-" + trace_id + "-0000000000000001-01";  // same id inside the service
  request.claim = claim;
  api.handle(std::move(request), [pending, ex](Reply reply) {
    bool waiting = false;
    {
      std::lock_guard lock(pending->mu);
      pending->reply = std::move(reply);
      waiting = pending->timer.has_value();
    }
    if (waiting) asio::post(ex, [pending] { pending->timer->cancel(); });
  });
  {
    std::lock_guard lock(pending->mu);
    if (pending->reply) co_return std::move(*pending->reply);
    pending->timer.emplace(ex, std::chrono::milliseconds(config.api.request_timeout_ms));
  }
  // The cancel is posted to this strand, so it runs only after this wait has started.
  co_await pending->timer->async_wait(kTuple);
  bool claimed = false;
  {
    std::lock_guard lock(pending->mu);
    if (pending->reply) co_return std::move(*pending->reply);
    // Unless the handler claimed the answer just before the deadline: then its reply is on its
    // way, and the cancel it posts ends a second wait.
    claimed = !claim->give_up();
    if (claimed) {
      pending->timer->expires_after(std::chrono::milliseconds(config.api.request_timeout_ms));
    }
  }
  if (claimed) co_await pending->timer->async_wait(kTuple);
  std::lock_guard lock(pending->mu);
  if (pending->reply) co_return std::move(*pending->reply);
  co_return error_reply(Code::ERR_TIMEOUT, "The request did not complete in time.", trace_id);
}

asio::awaitable<void> HttpsServer::Impl::session(runtime::TaskRef self, tcp::socket socket) {
  // `open` was counted by the accept loop; Cleanup gives the place back.
  api.metrics().connection_opened();
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string client = ec ? std::string("unknown") : remote.address().to_string();
  auto stream = std::make_shared<TlsStream>(std::move(socket), ssl);
  auto ex = co_await asio::this_coro::executor;
  const auto tracked = track([ex, weak = std::weak_ptr<TlsStream>(stream)] {
    asio::post(ex, [weak] {
      if (auto s = weak.lock()) {
        boost::system::error_code ignored;
        beast::get_lowest_layer(*s).socket().close(ignored);
      }
    });
  });
  struct Cleanup {
    Impl* impl;
    std::uint64_t id;
    ~Cleanup() {
      impl->untrack(id);
      impl->open.fetch_sub(1);
      impl->api.metrics().connection_closed();
    }
  } cleanup{this, tracked};

  auto& lowest = beast::get_lowest_layer(*stream);
  const auto request_timeout = std::chrono::milliseconds(config.api.request_timeout_ms);
  const auto idle_timeout = std::chrono::milliseconds(config.api.idle_timeout_ms);
  try {
    lowest.expires_after(request_timeout);
    {
      WaitMarker wait(self, "tls handshake");
      auto [hs] = co_await stream->async_handshake(asio::ssl::stream_base::server, kTuple);
      if (hs) co_return;  // includes clients offering only TLS 1.2
    }
    // Bytes read but not parsed yet: the parser takes a body's bytes as they come, so this
    // only ever holds a header, a chunk-size line or trailers, which Beast does not limit on
    // their own (`1;` and then endless chunk extensions grew it by the client's link speed).
    beast::flat_buffer buffer(static_cast<std::size_t>(config.api.header_limit_bytes) +
                              kMaxUnparsedBodyBytes);
    for (;;) {
      if (buffer.size() == 0) {
        // Between requests a client may stay silent for idle_timeout.
        lowest.expires_after(idle_timeout);
        WaitMarker wait(self, "idle keep-alive", WaitKind::kIdle);
        auto [rec, n] = co_await stream->async_read_some(buffer.prepare(16 * 1024), kTuple);
        if (rec) break;
        buffer.commit(n);
      }
      // From its first byte, a request must arrive whole within request_timeout.
      lowest.expires_after(request_timeout);
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(config.api.header_limit_bytes));
      parser.body_limit(static_cast<std::uint64_t>(config.api.max_body_bytes));
      std::optional<Reply> rejection;
      {
        WaitMarker wait(self, "read request");
        auto [rec, n] = co_await http::async_read_header(*stream, buffer, parser, kTuple);
        if (rec == http::error::header_limit || rec == http::error::buffer_overflow) {
          rejection = error_reply(Code::ERR_BAD_REQUEST, "The request headers are too large.",
                                  new_trace_id());
        } else if (rec == http::error::body_limit) {
          rejection = error_reply(Code::ERR_PAYLOAD_TOO_LARGE,
                                  "The request body is larger than the limit.", new_trace_id());
        } else if (rec) {
          if (rec != http::error::end_of_stream && rec != beast::error::timeout &&
              rec != asio::error::eof && rec != asio::error::operation_aborted) {
            rejection = error_reply(Code::ERR_BAD_REQUEST, "The request is not valid HTTP/1.1.",
                                    new_trace_id());
          } else {
            break;
          }
        } else if (!parser.is_done()) {
          auto [bec, bn] = co_await http::async_read(*stream, buffer, parser, kTuple);
          if (bec == http::error::body_limit) {
            rejection = error_reply(Code::ERR_PAYLOAD_TOO_LARGE,
                                    "The request body is larger than the limit.", new_trace_id());
          } else if (bec == http::error::buffer_overflow) {
            rejection = error_reply(Code::ERR_BAD_REQUEST,
                                    "A chunk-size line or the trailers of the body are too long.",
                                    new_trace_id());
          } else if (bec) {
            break;  // slow or vanished client: drop it
          }
        }
      }
      if (rejection) {
        // The rest of the request is not read: answer and close.
        api.metrics().observe("-", "rejected", rejection->status, 0);
        const auto bytes = response_bytes(*rejection, 11, false);
        lowest.expires_after(request_timeout);
        co_await asio::async_write(*stream, asio::buffer(bytes), kTuple);
        break;
      }
      auto& msg = parser.get();
      const bool keep_alive = msg.keep_alive();
      const unsigned version = msg.version();
      lowest.expires_never();
      Reply reply;
      {
        WaitMarker wait(self, "handle request");
        reply = co_await dispatch(to_request(msg, client));
      }
      if (reply.event_feed) {
        co_await stream_events(self, stream, std::move(reply));
        break;
      }
      const auto bytes = response_bytes(reply, version, keep_alive);
      lowest.expires_after(request_timeout);
      auto [wec, wn] = co_await asio::async_write(*stream, asio::buffer(bytes), kTuple);
      if (wec || !keep_alive) break;
    }
    // Polite TLS close_notify, bounded.
    lowest.expires_after(std::chrono::milliseconds(500));
    co_await stream->async_shutdown(kTuple);
  } catch (const std::exception& e) {
    // Cancellation at shutdown ends up here; anything else is logged without the client.
    spdlog::debug("api connection from {} ended: {}", client, e.what());
  }
}

asio::awaitable<void> HttpsServer::Impl::stream_events(runtime::TaskRef self,
                                                       std::shared_ptr<TlsStream> stream,
                                                       Reply reply) {
  auto ex = co_await asio::this_coro::executor;
  auto& lowest = beast::get_lowest_layer(*stream);
  lowest.expires_never();
  auto feed = std::move(reply.event_feed);
  auto wake = std::make_shared<asio::steady_timer>(ex);
  feed->attach([ex, wake] { asio::post(ex, [wake] { wake->cancel(); }); },
               [ex, weak = std::weak_ptr<TlsStream>(stream)] {
                 spdlog::warn("event stream dropped: its client fell {} records behind",
                              EventFeed::kMaxQueued);
                 asio::post(ex, [weak] {
                   if (auto s = weak.lock()) {
                     boost::system::error_code ignored;
                     beast::get_lowest_layer(*s).socket().close(ignored);
                   }
                 });
               });
  static constexpr std::string_view kHeader =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
      "Connection: close\r\n\r\n: stream open\n\n";
  // A client that stopped reading must not hold the task until TCP gives up: the header's write
  // too (pipelined requests before it may have filled the send buffer).
  const auto write_timeout = std::chrono::milliseconds(config.api.request_timeout_ms);
  lowest.expires_after(write_timeout);
  {
    WaitMarker wait(self, "sse write");
    auto [hec, hn] = co_await asio::async_write(*stream, asio::buffer(kHeader), kTuple);
    if (hec) co_return;
  }
  lowest.expires_never();  // the reader below waits as long as the stream lasts

  // Ends when the client closes (or sends anything): SSE clients only listen.
  auto reader = [stream]() -> asio::awaitable<void> {
    char scratch[256];
    co_await stream->async_read_some(asio::buffer(scratch), kTuple);
  };
  auto writer = [stream, feed, wake, self, write_timeout,
                 allowed = std::move(reply.stream_allowed)]() -> asio::awaitable<void> {
    for (;;) {
      std::string out = feed->take();
      if (out.empty()) {
        if (feed->state() != EventFeed::State::open) co_return;  // dropped, or all sent
        // Nothing queued: wait for a record, or send a comment every 15 s so proxies and
        // clients see the stream is alive.
        wake->expires_after(std::chrono::seconds(15));
        WaitMarker wait(self, "sse next record", WaitKind::kIdle);
        auto [wec] = co_await wake->async_wait(kTuple);
        if (!wec)
          out = ": keep-alive\n\n";
        else
          continue;
      }
      // Records and keep-alives alike: a changed account is noticed within one keep-alive.
      if (allowed && !allowed()) {
        spdlog::info("event stream ended: its token's account changed or is gone");
        co_return;
      }
      WaitMarker wait(self, "sse write");
      beast::get_lowest_layer(*stream).expires_after(write_timeout);
      auto [ec, n] = co_await asio::async_write(*stream, asio::buffer(out), kTuple);
      if (ec) co_return;
    }
  };
  // The stream ends when the token it was opened with expires: the client logs in again.
  auto expiry = [ex, left = reply.stream_until - api.context().clock.now(),
                 self]() -> asio::awaitable<void> {
    asio::steady_timer timer(ex, std::chrono::duration_cast<asio::steady_timer::duration>(left));
    WaitMarker wait(self, "sse token expiry", WaitKind::kIdle);
    co_await timer.async_wait(kTuple);
  };
  co_await (reader() || writer() || expiry());
}

}  // namespace castellan::api
