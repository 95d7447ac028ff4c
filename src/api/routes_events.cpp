// POST /v1/verify, GET /v1/events (journal query) and GET /v1/events/stream (SSE; the route
// authorises it and fills its feed, the transport sends it).
#include <array>
#include <boost/json.hpp>
#include <charconv>

#include "api/api_service.hpp"
#include "api/event_feed.hpp"
#include "api/replies.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "core/time.hpp"

namespace castellan::api {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 10> kKinds{
    "decision", "door_state", "device_online", "device_offline", "force_unlock",
    "lockdown", "door_alarm", "admin",         "resilience",     "task_leak"};

void verify(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto body = parse_object(req.body);
  if (!body) return done(error_reply(body.error(), req.trace_id));
  VerifyRequest v;
  for (auto [field, out] : {std::pair{"site", &v.site}, {"door", &v.door}, {"card", &v.card}}) {
    auto s = required_string(*body, field);
    if (!s) return done(error_reply(s.error(), req.trace_id));
    *out = std::move(*s);
  }
  auto dir = optional_string(*body, "dir", "in");
  if (!dir) return done(error_reply(dir.error(), req.trace_id));
  if (*dir != "in" && *dir != "out") {
    return done(
        error_reply(Code::ERR_BAD_REQUEST, "Field 'dir' must be 'in' or 'out'.", req.trace_id));
  }
  if (!is_valid_site_id(v.site)) {
    return done(
        error_reply(Code::ERR_BAD_REQUEST, "Field 'site' is not a valid site id.", req.trace_id));
  }
  if (!is_valid_id(v.door)) {
    return done(
        error_reply(Code::ERR_BAD_REQUEST, "Field 'door' is not a valid door id.", req.trace_id));
  }
  if (!normalize_card_uid(v.card)) {
    return done(error_reply(Code::ERR_BAD_REQUEST, "Field 'card' must be 8 to 32 hex digits.",
                            req.trace_id));
  }
  v.dir = std::move(*dir);
  v.trace_id = req.trace_id;
  v.client_address = req.client_address;
  v.claim = req.claim;
  ctx.verify.verify(v, [trace_id = req.trace_id, done](Result<VerifyOutcome> outcome) {
    if (!outcome) return done(error_reply(outcome.error(), trace_id));
    done(json_reply(200, json::object{{"decision", outcome->granted ? "grant" : "deny"},
                                      {"code", static_cast<std::int64_t>(outcome->code)},
                                      {"name", code_name(outcome->code)},
                                      {"trace_id", trace_id},
                                      {"latency_us", outcome->latency_us}}));
  });
}

void query_events(ApiContext& ctx, Request& req, const ReplyFn& done) {
  EventQuery q;
  auto limit = parse_limit(req, 100);
  if (!limit) return done(error_reply(limit.error(), req.trace_id));
  q.limit = *limit;
  q.door = query_param(req, "door");
  q.user = query_param(req, "user");
  q.kind = query_param(req, "kind");
  q.decision = query_param(req, "decision");
  q.from = query_param(req, "from");
  q.to = query_param(req, "to");
  q.cursor = query_param(req, "cursor");
  if (!q.kind.empty() &&
      std::find(kKinds.begin(), kKinds.end(), std::string_view(q.kind)) == kKinds.end()) {
    return done(error_reply(Code::ERR_BAD_REQUEST, "Query parameter 'kind' names no record kind.",
                            req.trace_id));
  }
  if (!q.decision.empty() && q.decision != "grant" && q.decision != "deny") {
    return done(error_reply(Code::ERR_BAD_REQUEST,
                            "Query parameter 'decision' must be grant or deny.", req.trace_id));
  }
  for (auto [name, value] : {std::pair{"from", &q.from}, {"to", &q.to}}) {
    if (!value->empty() && !parse_utc(*value)) {
      return done(error_reply(
          Code::ERR_BAD_REQUEST,
          "Query parameter '" + std::string(name) + "' must be an RFC 3339 time.", req.trace_id));
    }
  }
  auto page = ctx.events.query(q);
  if (!page) return done(error_reply(page.error(), req.trace_id));
  // The lines go in as they are (EventLines says why).
  std::string body = R"({"events":[)";
  for (const auto& line : page->lines) {
    if (&line != &page->lines.front()) body += ',';
    body += line;
  }
  body += R"(],"next_cursor":)";
  body += page->next_cursor.empty() ? "null" : json::serialize(json::value(page->next_cursor));
  body += '}';
  done(Reply{200, std::move(body)});
}

// A client that reconnects with Last-Event-ID is first given what it missed, read from the
// journal (on the blocking pool: only these requests go there).
void open_stream(ApiContext& ctx, AccountTags& tags, Request& req, const ReplyFn& done) {
  std::uint64_t last_seen = 0;
  if (!req.last_event_id.empty()) {
    const auto& id = req.last_event_id;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), last_seen);
    if (ec != std::errc{} || end != id.data() + id.size()) {
      return done(error_reply(Code::ERR_BAD_REQUEST,
                              "Header 'Last-Event-ID' must be the id of an event this stream "
                              "sent (a record's seq).",
                              req.trace_id));
    }
  }
  Reply reply;
  reply.content_type = "text/event-stream";
  reply.event_feed = std::make_shared<EventFeed>();
  // Following first, then reading what was missed: a record made in between is in both, and
  // the feed sends it once.
  reply.event_feed->follow(ctx.events);
  if (!req.last_event_id.empty()) {
    auto missed = ctx.events.after(last_seen, EventFeed::kMaxQueued);
    if (missed) {
      reply.event_feed->replay(std::move(missed->lines), missed->more);
    } else {
      // Answered 200 and ended, not with an error status: EventSource gives up for good on
      // one, and reconnects after the other (the damage may be repaired by then).
      spdlog::warn("event stream: the records after {} cannot be read: {}", last_seen,
                   missed.error().message);
      reply.event_feed->end_with("the records missed cannot be read now (" +
                                 missed.error().message + "); reconnect later");
    }
  }
  reply.stream_until = req.token_expires_at;
  // A stream outlives the request that opened it, so it is asked again, as every request is,
  // whether the token's account still has that password and role. A store that cannot say
  // ends the stream: the client reconnects and is checked.
  reply.stream_allowed = [t = &tags, user = req.username, tag = req.account_tag] {
    auto current = t->current(user);
    return current && *current && **current == tag;
  };
  done(std::move(reply));
}

}  // namespace

void add_event_routes(Router& router, ApiContext& ctx, AccountTags& tags) {
  ApiContext* c = &ctx;
  AccountTags* t = &tags;
  router.add({"POST", "/v1/verify", Access::kOperate,
              [c](Request& r, ReplyFn d) { verify(*c, r, d); }, false});
  router.add({"GET", "/v1/events", Access::kRead,
              [c](Request& r, ReplyFn d) { query_events(*c, r, d); }, true});
  Route stream{"GET", "/v1/events/stream", Access::kRead,
               [c, t](Request& r, ReplyFn d) { open_stream(*c, *t, r, d); }};
  stream.blocking_for = [](const Request& r) { return !r.last_event_id.empty(); };
  router.add(std::move(stream));
}

}  // namespace castellan::api
