#include "api/api_service.hpp"

#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <exception>

#include "api/replies.hpp"
#include "core/change_scope.hpp"
#include "core/log.hpp"

namespace castellan::api {
namespace json = boost::json;

// Two threads for handlers that block (SQLite, Argon2id), and two for door commands, which
// must not queue behind requests a stalled store holds up. At most kMaxQueued jobs wait;
// beyond that a request gets 503 at once instead of joining a queue it would time out in.
struct ApiService::BlockingPool {
  static constexpr int kMaxQueued = 256;
  boost::asio::thread_pool pool{2};
  boost::asio::thread_pool doors{2};
  std::atomic<int> queued{0};        // waiting for `pool`
  std::atomic<int> doors_queued{0};  // waiting for `doors`: a full `pool` queue never refuses them
};

void audit(ApiContext& ctx, const Request& request, std::string_view action, json::object details) {
  details["action"] = action;
  details["route"] = request.method + " " + request.path;
  const ChangeAuthor* change = ChangeScope::current();
  if (change != nullptr) details["change_id"] = change->change_id;
  if (auto recorded = ctx.events.record_admin(request.username, details, request.trace_id);
      !recorded) {
    if (request.unrecorded) *request.unrecorded = recorded.error();
    return;  // the store's note, if any, stays: the next start journals it
  }
  if (change == nullptr || !change->noted) return;
  if (auto forgotten = ctx.resources.forget_change(change->change_id); !forgotten) {
    // Harmless: the next start finds the record in the journal and only drops the note.
    spdlog::warn("the store's note of change {} stays: {}", change->change_id,
                 forgotten.error().message);
  }
}

ApiService::ApiService(ApiContext ctx)
    : ctx_(std::move(ctx)),
      login_limiter_(ctx_.clock, ctx_.config.api.login_attempts_per_minute,
                     ctx_.config.api.account_login_attempts_per_minute),
      account_tags_(ctx_.accounts),
      pool_(std::make_unique<BlockingPool>()) {
  // Before the first request: the check of every request then never reads the store.
  if (auto loaded = account_tags_.preload(); !loaded) {
    spdlog::warn("account tags not read at start ({}): each account's first request reads them",
                 loaded.error().message);
  }
  add_auth_routes(router_, ctx_, login_limiter_, account_tags_);
  add_resource_routes(router_, ctx_);
  add_event_routes(router_, ctx_, account_tags_);
  add_door_routes(router_, ctx_);
  add_system_routes(router_, ctx_);
}

ApiService::~ApiService() {
  finish_blocking_jobs();
}

void ApiService::finish_blocking_jobs() {
  pool_->pool.join();
  pool_->doors.join();
}

std::string ApiService::render_metrics() {
  return ctx_.runtime.render_metrics() + metrics_.render();
}

void ApiService::handle(Request request, ReplyFn done) {
  request.trace_id = trace_id_from(request.traceparent);
  TraceScope trace(request.trace_id);
  const auto match = router_.match(request.method, request.path);
  const auto started = ctx_.clock.monotonic();
  const std::string route_name = match.route ? match.route->pattern : "unmatched";
  // Every reply passes here once: metrics, then the transport. An unmatched request's method is
  // whatever the client sent: only the standard verbs become a label, so that nobody can add
  // series to /metrics by inventing methods.
  std::string method_label = request.method;
  if (!match.route && method_label != "GET" && method_label != "POST" && method_label != "PUT" &&
      method_label != "PATCH" && method_label != "DELETE" && method_label != "HEAD" &&
      method_label != "OPTIONS") {
    method_label = "OTHER";
  }
  auto finish = [this, started, route_name, method = std::move(method_label),
                 done = std::move(done)](Reply reply) {
    const auto elapsed = std::chrono::duration<double>(ctx_.clock.monotonic() - started).count();
    metrics_.observe(method, route_name, reply.status, elapsed);
    done(std::move(reply));
  };
  if (!request.target_error.empty()) {
    return finish(error_reply(Code::ERR_BAD_REQUEST,
                              "The request target is not a valid URL (" + request.target_error +
                                  "); percent-encode what is not a letter, digit or -._~.",
                              request.trace_id));
  }
  // Which of two values was meant is not ours to guess; an empty cursor is a client's null
  // turned into "" (taken as "from the start", it would page the first page forever).
  if (!request.repeated_param.empty()) {
    return finish(
        error_reply(Code::ERR_BAD_REQUEST,
                    "Query parameter '" + request.repeated_param + "' is given more than once.",
                    request.trace_id));
  }
  if (auto cursor = request.query.find("cursor");
      cursor != request.query.end() && cursor->second.empty()) {
    return finish(error_reply(Code::ERR_BAD_REQUEST,
                              "Query parameter 'cursor' is empty: leave it out for the first "
                              "page, or pass the previous page's next_cursor.",
                              request.trace_id));
  }
  // The token is checked before anything about the route is said: without one, the API's
  // route table cannot be mapped by probing for 404s and 405s.
  auto authenticate = [&]() -> Result<TokenClaims> {
    constexpr std::string_view kBearer = "Bearer ";
    if (request.authorization.rfind(kBearer, 0) != 0) {
      return make_error(Code::ERR_UNAUTHENTICATED,
                        "This route needs an 'Authorization: Bearer <token>' header.");
    }
    auto claims = ctx_.tokens.check(std::string_view(request.authorization).substr(kBearer.size()));
    if (!claims) return claims;
    // A token outlives neither its account nor a change of its password or role.
    auto tag = account_tags_.current(claims->username);
    if (!tag) return tag.error();
    if (!*tag || **tag != claims->account_tag) {
      return make_error(Code::ERR_UNAUTHENTICATED,
                        "The bearer token was issued before its account's password or role "
                        "changed, or the account is gone; log in again.");
    }
    return claims;
  };
  if (!match.route) {
    if (auto claims = authenticate(); !claims) {
      return finish(error_reply(claims.error(), request.trace_id));
    }
    const std::string what = match.path_exists
                                 ? request.method + " is not allowed on " + request.path + "."
                                 : "There is no route " + request.path + ".";
    return finish(error_reply(Code::ERR_NOT_FOUND, what, request.trace_id));
  }
  const Route& route = *match.route;
  request.params = match.params;
  if (route.access != Access::kPublic) {
    auto claims = authenticate();
    if (!claims) return finish(error_reply(claims.error(), request.trace_id));
    request.username = claims->username;
    request.role = claims->role;
    request.token_expires_at = claims->expires_at;
    request.account_tag = claims->account_tag;
    if (!route.enabled) {
      return finish(error_reply(
          Code::ERR_NOT_FOUND,
          request.method + " " + route.pattern + " is switched off in this server's configuration.",
          request.trace_id));
    }
    if (!role_allows(request.role, route.access)) {
      return finish(error_reply(Code::ERR_FORBIDDEN,
                                "The role '" + std::string(role_name(request.role)) +
                                    "' may not use " + request.method + " " + route.pattern + ".",
                                request.trace_id));
    }
  }
  if (route.audited && !ctx_.events.can_record()) {
    return finish(error_reply(Code::ERR_UNAVAILABLE,
                              "The journal cannot record changes right now, so nothing was "
                              "changed; door commands still work. See /readyz.",
                              request.trace_id));
  }
  const bool blocking = route.blocking_for ? route.blocking_for(request) : route.blocking;
  if (!blocking) return run(route, std::move(request), std::move(finish));
  auto& threads = route.door_command ? pool_->doors : pool_->pool;
  auto& queued = route.door_command ? pool_->doors_queued : pool_->queued;
  if (queued.fetch_add(1) >= BlockingPool::kMaxQueued) {
    queued.fetch_sub(1);
    return finish(error_reply(Code::ERR_UNAVAILABLE,
                              "The server is busy with other requests; try again shortly.",
                              request.trace_id));
  }
  // The transport answers 504 after request_timeout: a job still queued by then is dropped, so a
  // request the client was told timed out does not run (and change things) later.
  const auto deadline = started + std::chrono::milliseconds(ctx_.config.api.request_timeout_ms);
  boost::asio::post(threads, [this, &route, &queued, deadline, request = std::move(request),
                              finish = std::move(finish)]() mutable {
    queued.fetch_sub(1);
    TraceScope scope(request.trace_id);
    if (ctx_.clock.monotonic() >= deadline) {
      spdlog::warn("{} {} dropped: it waited in the queue past its deadline", request.method,
                   route.pattern);
      return finish(error_reply(Code::ERR_TIMEOUT, "The request did not complete in time.",
                                request.trace_id));
    }
    run(route, std::move(request), std::move(finish));
  });
}

namespace {

// The answer of an audited request whose admin record was not confirmed durable: a read (of a
// door key) is refused, as it may only happen on record; a change stands (it is committed) and
// is answered with the error saying so; a change whose answer is a secret given only once (a new
// key, new credentials) keeps its answer, marked "recorded": false, or the secret would be lost.
// Door commands are not `audited` and keep their answer: the door has moved.
Reply unrecorded_reply(const Route& route, Reply reply, const Error& why,
                       std::string_view trace_id) {
  if (route.method == "GET") {
    return error_reply(
        why.code,
        "Nothing is given: this read must be on record, but " + why.message + ". See /readyz.",
        trace_id);
  }
  const std::string change = "The change was made and stays in effect, but " + why.message;
  if (!route.one_time_secret) {
    return error_reply(why.code, change + ". See GET /v1/events?kind=admin and /readyz.", trace_id);
  }
  boost::system::error_code ec;
  auto body = json::parse(reply.body, ec);
  if (ec || !body.is_object()) return reply;
  body.as_object()["recorded"] = false;
  body.as_object()["warning"] = change + ".";
  reply.body = json::serialize(body);
  return reply;
}

}  // namespace

// The error boundary: a handler that throws answers 50001 with a generic sentence; the
// exception text goes to the log only.
void ApiService::run(const Route& route, Request request, ReplyFn done) {
  auto answered = std::make_shared<std::atomic<bool>>(false);
  ReplyFn once = [answered, done = std::move(done)](Reply reply) {
    if (!answered->exchange(true)) done(std::move(reply));
  };
  if (route.audited) {
    request.unrecorded = std::make_shared<std::optional<Error>>();
    once = [&route, unrecorded = request.unrecorded, trace_id = request.trace_id,
            once = std::move(once)](Reply reply) {
      if (reply.status < 300 && *unrecorded) {
        reply = unrecorded_reply(route, std::move(reply), **unrecorded, trace_id);
      }
      once(std::move(reply));
    };
  }
  const std::string trace_id = request.trace_id;
  // The store notes what a change writes until its admin record is durable (audit() above).
  std::optional<ChangeScope> change;
  if (route.audited || route.door_command) {
    change.emplace(ChangeAuthor{.change_id = new_trace_id(),
                                .trace_id = request.trace_id,
                                .actor = request.username,
                                .route = request.method + " " + request.path,
                                .at = ctx_.clock.now()});
  }
  try {
    route.handler(request, once);
  } catch (const std::exception& e) {
    spdlog::error("handler {} {} failed: {}", route.method, route.pattern, e.what());
    once(error_reply(Code::ERR_INTERNAL, "The server failed to handle this request.", trace_id));
  } catch (...) {
    spdlog::error("handler {} {} failed with a non-standard exception", route.method,
                  route.pattern);
    once(error_reply(Code::ERR_INTERNAL, "The server failed to handle this request.", trace_id));
  }
}

}  // namespace castellan::api
