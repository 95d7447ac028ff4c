// Resource collections (contract §6) and temporary passes, delegating to the store's
// ResourcePort; every change is journaled as an admin record.
#include <array>
#include <boost/json.hpp>

#include "api/api_service.hpp"
#include "api/replies.hpp"

namespace castellan::api {
namespace json = boost::json;
namespace {

constexpr std::array<std::string_view, 7> kCollections{"sites",  "doors",     "users",   "cards",
                                                       "groups", "schedules", "holidays"};

void list(ApiContext& ctx, std::string_view coll, Request& req, const ReplyFn& done) {
  auto limit = parse_limit(req, 100);
  if (!limit) return done(error_reply(limit.error(), req.trace_id));
  auto page = ctx.resources.list(coll, *limit, query_param(req, "cursor"));
  if (!page) return done(error_reply(page.error(), req.trace_id));
  json::value next = nullptr;
  if (page->next_cursor) next = *page->next_cursor;
  done(json_reply(200, json::object{{"items", std::move(page->items)}, {"next_cursor", next}}));
}

// The audit record names the resource, never its body (a card body holds the raw uid).
json::object what(std::string_view coll, const json::object& resource, std::string_view id = {}) {
  json::object o{{"collection", coll}};
  if (const auto* v = resource.if_contains("id"); v && v->is_string()) {
    o["id"] = v->get_string();
  } else if (!id.empty()) {
    o["id"] = id;
  }
  return o;
}

void create(ApiContext& ctx, std::string_view coll, Request& req, const ReplyFn& done) {
  auto body = parse_object(req.body);
  if (!body) return done(error_reply(body.error(), req.trace_id));
  auto created = ctx.resources.create(coll, *body, req.username);
  if (!created) return done(error_reply(created.error(), req.trace_id));
  audit(ctx, req, "create", what(coll, *created));
  done(json_reply(201, *created));
}

void get(ApiContext& ctx, std::string_view coll, Request& req, const ReplyFn& done) {
  auto found = ctx.resources.get(coll, req.params[0]);
  if (!found) return done(error_reply(found.error(), req.trace_id));
  done(json_reply(200, *found));
}

void patch(ApiContext& ctx, std::string_view coll, Request& req, const ReplyFn& done) {
  auto body = parse_object(req.body);
  if (!body) return done(error_reply(body.error(), req.trace_id));
  auto updated = ctx.resources.patch(coll, req.params[0], *body, req.username);
  if (!updated) return done(error_reply(updated.error(), req.trace_id));
  json::object details = what(coll, *updated, req.params[0]);
  json::array fields;
  for (const auto& kv : *body) fields.emplace_back(kv.key());
  details["fields"] = std::move(fields);
  audit(ctx, req, "update", std::move(details));
  done(json_reply(200, *updated));
}

void remove(ApiContext& ctx, std::string_view coll, Request& req, const ReplyFn& done) {
  if (auto r = ctx.resources.remove(coll, req.params[0], req.username); !r) {
    return done(error_reply(r.error(), req.trace_id));
  }
  audit(ctx, req, "delete", what(coll, {}, req.params[0]));
  done(Reply{204, ""});
}

void issue_pass(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto body = parse_object(req.body);
  if (!body) return done(error_reply(body.error(), req.trace_id));
  auto pass = ctx.resources.issue_pass(*body, req.username);
  if (!pass) return done(error_reply(pass.error(), req.trace_id));
  json::object details{{"collection", "passes"}};
  for (const char* key : {"id", "last4", "uses_left"}) {
    if (const auto* v = pass->if_contains(key)) details[key] = *v;
  }
  if (const auto* doors = body->if_contains("doors")) details["doors"] = *doors;
  audit(ctx, req, "issue_pass", std::move(details));
  done(json_reply(201, *pass));
}

// List, read, change and delete routes of one collection; `write` is who may change it.
void add_collection_routes(Router& router, ApiContext* c, std::string_view coll, Access write) {
  const std::string base = "/v1/" + std::string(coll);
  router.add({"GET", base, Access::kRead,
              [c, coll](Request& r, ReplyFn d) { list(*c, coll, r, d); }, true});
  router.add({"GET", base + "/{id}", Access::kRead,
              [c, coll](Request& r, ReplyFn d) { get(*c, coll, r, d); }, true});
  router.add(audited({"PATCH", base + "/{id}", write,
                      [c, coll](Request& r, ReplyFn d) { patch(*c, coll, r, d); }, true}));
  router.add(audited({"DELETE", base + "/{id}", write,
                      [c, coll](Request& r, ReplyFn d) { remove(*c, coll, r, d); }, true}));
}

}  // namespace

void add_resource_routes(Router& router, ApiContext& ctx) {
  ApiContext* c = &ctx;
  for (std::string_view coll : kCollections) {
    router.add(audited({"POST", "/v1/" + std::string(coll), Access::kAdmin,
                        [c, coll](Request& r, ReplyFn d) { create(*c, coll, r, d); }, true}));
    add_collection_routes(router, c, coll, Access::kAdmin);
  }
  // Passes are the operators' to issue, change and revoke (a lost visitor card must stop
  // working at once); issuing hashes the card, so it is not the generic create.
  router.add(audited({"POST", "/v1/passes", Access::kOperate,
                      [c](Request& r, ReplyFn d) { issue_pass(*c, r, d); }, true}));
  add_collection_routes(router, c, "passes", Access::kOperate);
}

}  // namespace castellan::api
