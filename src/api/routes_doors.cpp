// Devices, door assist, force unlock (with the operator-safety 409), lockdown/release,
// door keys and device credentials.
#include <boost/json.hpp>

#include "api/api_service.hpp"
#include "api/replies.hpp"

namespace castellan::api {
namespace json = boost::json;
namespace {

void list_devices(ApiContext& ctx, Request&, const ReplyFn& done) {
  done(json_reply(200, json::object{{"items", ctx.devices.list_devices()}}));
}

void get_device(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto device = ctx.devices.device(req.params[0]);
  if (!device) {
    return done(
        error_reply(Code::ERR_NOT_FOUND, "No device '" + req.params[0] + "'.", req.trace_id));
  }
  done(json_reply(200, *device));
}

void assist(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto a = ctx.devices.door_assist(req.params[0]);
  if (!a) return done(error_reply(a.error(), req.trace_id));
  done(json_reply(200, *a));
}

// 409 when the assist view says a force unlock is unsafe (beam blocked, 24 h failure rate
// above 12 %), unless an admin sets "override": true.
void unlock(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto body = parse_object(req.body);
  if (!body) return done(error_reply(body.error(), req.trace_id));
  std::int64_t duration_ms = 0;  // 0: the door's unlock_ms
  if (const auto* d = body->if_contains("duration_ms")) {
    if (!d->is_int64() || d->get_int64() < 100 || d->get_int64() > 60000) {
      return done(error_reply(Code::ERR_BAD_REQUEST,
                              "Field 'duration_ms' must be an integer from 100 to 60000.",
                              req.trace_id));
    }
    duration_ms = d->get_int64();
  }
  auto reason = required_string(*body, "reason");
  if (!reason) return done(error_reply(reason.error(), req.trace_id));
  if (reason->empty()) {
    return done(error_reply(Code::ERR_BAD_REQUEST,
                            "Field 'reason' must say why the door is unlocked.", req.trace_id));
  }
  bool override = false;
  if (const auto* o = body->if_contains("override")) {
    if (!o->is_bool()) {
      return done(error_reply(Code::ERR_BAD_REQUEST, "Field 'override' must be true or false.",
                              req.trace_id));
    }
    override = o->get_bool();
  }
  const std::string& door = req.params[0];
  auto a = ctx.devices.door_assist(door);
  if (!a) return done(error_reply(a.error(), req.trace_id));
  const auto* allowed = a->if_contains("force_unlock_allowed");
  const bool safe = allowed && allowed->is_bool() && allowed->get_bool();
  std::string refusal;
  if (!safe) {
    const auto* why = a->if_contains("reason");
    refusal =
        why && why->is_string() ? std::string(why->get_string()) : "the door is not safe to unlock";
    // Contract §6: 409 unless an admin sets override; an operator's override does not count.
    if (!override || req.role != Role::kAdmin) {
      return done(error_reply(Code::ERR_CONFLICT,
                              "Force unlock refused: " + refusal +
                                  (override ? ". Only an admin may override it."
                                            : ". An admin may set \"override\": true."),
                              req.trace_id));
    }
  }
  auto sent =
      ctx.devices.unlock(door, static_cast<int>(duration_ms), *reason, req.username, req.trace_id);
  if (!sent) return done(error_reply(sent.error(), req.trace_id));
  duration_ms = *sent;
  json::object details{{"door", door},
                       {"duration_ms", duration_ms},
                       {"reason", *reason},
                       {"override", override && !safe}};
  if (!safe) details["overridden_refusal"] = refusal;
  audit(ctx, req, "force_unlock", details);
  done(json_reply(200, json::object{{"door", door},
                                    {"unlocked", true},
                                    {"duration_ms", duration_ms},
                                    {"override", override && !safe}}));
}

void set_lockdown(ApiContext& ctx, Request& req, const ReplyFn& done, bool on) {
  const std::string& door = req.params[0];
  auto r = on ? ctx.devices.lockdown(door, req.username, req.trace_id)
              : ctx.devices.release(door, req.username, req.trace_id);
  const char* action = on ? "lockdown" : "release";
  if (!r) {
    // A lockdown whose command failed is still in force (its flag is set before the command is
    // sent), and any attempt that failed on our side is one an auditor wants to see.
    if (http_status(r.error().code) >= 500) {
      audit(ctx, req, action,
            json::object{{"door", door}, {"result", "failed"}, {"error", r.error().message}});
    }
    return done(error_reply(r.error(), req.trace_id));
  }
  audit(ctx, req, action, json::object{{"door", door}});
  done(json_reply(200, json::object{{"door", door}, {"lockdown", on}}));
}

void door_key(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto key = ctx.devices.door_key(req.params[0]);
  if (!key) return done(error_reply(key.error(), req.trace_id));
  audit(ctx, req, "read_door_key", json::object{{"door", req.params[0]}});
  done(json_reply(200, json::object{{"key", *key}}));
}

// A new key, e.g. after a controller was replaced or its key leaked. The controller must get the
// new key: until then it refuses every decision (their signatures no longer verify).
void rotate_door_key(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto key = ctx.devices.rotate_door_key(req.params[0], req.username);
  if (!key) return done(error_reply(key.error(), req.trace_id));
  audit(ctx, req, "rotate_door_key", json::object{{"door", req.params[0]}});
  done(json_reply(200, json::object{{"key", *key}}));
}

void credentials(ApiContext& ctx, Request& req, const ReplyFn& done) {
  auto creds = ctx.devices.device_credentials(req.params[0]);
  if (!creds) return done(error_reply(creds.error(), req.trace_id));
  audit(ctx, req, "device_credentials", json::object{{"device", req.params[0]}});
  done(json_reply(200, *creds));
}

}  // namespace

void add_door_routes(Router& router, ApiContext& ctx) {
  ApiContext* c = &ctx;
  router.add({"GET", "/v1/devices", Access::kRead,
              [c](Request& r, ReplyFn d) { list_devices(*c, r, d); }});
  router.add({"GET", "/v1/devices/{id}", Access::kRead,
              [c](Request& r, ReplyFn d) { get_device(*c, r, d); }});
  router.add({"GET", "/v1/doors/{id}/assist", Access::kRead,
              [c](Request& r, ReplyFn d) { assist(*c, r, d); }});
  // Door commands wait for their journal record to be durable (and lockdown writes the store):
  // they block, so never on an io thread that swipes and other requests share, and on threads
  // of their own, so never behind requests that wait for a stalled store.
  router.add(door_command({"POST", "/v1/doors/{id}/unlock", Access::kOperate,
                           [c](Request& r, ReplyFn d) { unlock(*c, r, d); }}));
  router.add(door_command({"POST", "/v1/doors/{id}/lockdown", Access::kOperate,
                           [c](Request& r, ReplyFn d) { set_lockdown(*c, r, d, true); }}));
  router.add(door_command({"POST", "/v1/doors/{id}/release", Access::kOperate,
                           [c](Request& r, ReplyFn d) { set_lockdown(*c, r, d, false); }}));
  // Reading a key is journaled (and waited for): on the blocking pool, as every audited route.
  router.add(audited({"GET", "/v1/doors/{id}/key", Access::kAdmin,
                      [c](Request& r, ReplyFn d) { door_key(*c, r, d); }, true}));
  Route rotate = audited({"POST", "/v1/doors/{id}/key", Access::kAdmin,
                          [c](Request& r, ReplyFn d) { rotate_door_key(*c, r, d); }, true});
  rotate.one_time_secret = true;
  router.add(std::move(rotate));
  Route creds = audited({"POST", "/v1/devices/{id}/credentials", Access::kAdmin,
                         [c](Request& r, ReplyFn d) { credentials(*c, r, d); }, true});
  creds.one_time_secret = true;
  router.add(std::move(creds));
}

}  // namespace castellan::api
