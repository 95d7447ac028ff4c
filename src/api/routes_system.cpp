// Health SLIs, the live task dump and chaos fault injection (behind [debug] fault_injection).
#include <boost/json.hpp>

#include "api/api_service.hpp"
#include "api/replies.hpp"

namespace castellan::api {
namespace json = boost::json;
namespace {

void inject_fault(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto body = parse_object(req.body);
  if (!body) return done(error_reply(body.error(), req.trace_id));
  auto kind = required_string(*body, "kind");
  if (!kind) return done(error_reply(kind.error(), req.trace_id));
  if (auto r = ctx.runtime.inject_fault(*body); !r)
    return done(error_reply(r.error(), req.trace_id));
  audit(ctx, req, "inject_fault", *body);
  done(json_reply(202, json::object{{"injected", *kind}}));
}

}  // namespace

void add_system_routes(Router& router, ApiContext& ctx) {
  ApiContext* c = &ctx;
  router.add({"GET", "/v1/health/sli", Access::kRead,
              [c](Request&, ReplyFn d) { d(json_reply(200, c->runtime.sli_json())); }});
  router.add({"GET", "/v1/debug/tasks", Access::kAdmin,
              [c](Request&, ReplyFn d) { d(json_reply(200, c->runtime.tasks_json())); }});
  router.add({.method = "POST",
              .pattern = "/v1/debug/faults",
              .access = Access::kAdmin,
              .handler = [c](Request& r, ReplyFn d) { inject_fault(*c, r, d); },
              .blocking = true,  // journaled, and waited for
              .enabled = ctx.config.debug.fault_injection});
}

}  // namespace castellan::api
