#include "devices/outgoing.hpp"

#include <boost/json.hpp>

namespace castellan::devices {
namespace json = boost::json;
namespace {

Result<json::object> parse_object(std::string_view payload) {
  std::error_code ec;
  json::value v = json::parse(json::string_view(payload.data(), payload.size()), ec);
  if (ec || !v.is_object()) return make_error(Code::ERR_BAD_REQUEST, "not a JSON object");
  return std::move(v.as_object());
}

bool read_string(const json::object& o, std::string_view key, std::string& out) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return false;
  out = std::string(v->as_string());
  return true;
}

bool read_int(const json::object& o, std::string_view key, std::int64_t& out) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_int64()) return false;
  out = v->as_int64();
  return true;
}

}  // namespace

std::string serialize(const DecisionMessage& m) {
  json::object o;
  o["req"] = m.req;
  o["decision"] = m.decision;
  o["code"] = m.code;
  o["unlock_ms"] = m.unlock_ms;
  o["exp"] = m.exp;
  o["sig"] = m.sig;
  return json::serialize(o);
}

std::string serialize(const CommandMessage& m) {
  json::object o;
  o["id"] = m.id;
  o["cmd"] = m.cmd;
  o["unlock_ms"] = m.unlock_ms;
  o["exp"] = m.exp;
  o["sig"] = m.sig;
  return json::serialize(o);
}

Result<DecisionMessage> parse_decision_message(std::string_view payload) {
  auto o = parse_object(payload);
  if (!o) return o.error();
  DecisionMessage m;
  std::int64_t code = 0;
  if (!read_string(*o, "req", m.req) || !read_string(*o, "decision", m.decision) ||
      !read_int(*o, "code", code) || !read_int(*o, "unlock_ms", m.unlock_ms) ||
      !read_string(*o, "exp", m.exp) || !read_string(*o, "sig", m.sig)) {
    return make_error(Code::ERR_BAD_REQUEST, "decision message misses a field");
  }
  if (m.decision != "grant" && m.decision != "deny") {
    return make_error(Code::ERR_BAD_REQUEST, "decision must be grant or deny");
  }
  m.code = static_cast<std::int32_t>(code);
  return m;
}

Result<CommandMessage> parse_command_message(std::string_view payload) {
  auto o = parse_object(payload);
  if (!o) return o.error();
  CommandMessage m;
  if (!read_string(*o, "id", m.id) || !read_string(*o, "cmd", m.cmd) ||
      !read_int(*o, "unlock_ms", m.unlock_ms) || !read_string(*o, "exp", m.exp) ||
      !read_string(*o, "sig", m.sig)) {
    return make_error(Code::ERR_BAD_REQUEST, "command message misses a field");
  }
  return m;
}

SignedFields signed_fields(std::string_view site, std::string_view door, const DecisionMessage& m) {
  return SignedFields{
      std::string(site), std::string(door), m.req, m.decision, m.code, m.unlock_ms, m.exp};
}

SignedFields signed_fields(std::string_view site, std::string_view door, const CommandMessage& m) {
  return SignedFields{std::string(site),     std::string(door), m.id, m.cmd,
                      kCommandSignatureCode, m.unlock_ms,       m.exp};
}

DecisionMessage make_decision_message(std::string_view site, std::string_view door,
                                      std::string_view door_key, std::string req, bool grant,
                                      std::int32_t code, std::int64_t unlock_ms, TimePoint exp) {
  DecisionMessage m;
  m.req = std::move(req);
  m.decision = grant ? "grant" : "deny";
  m.code = code;
  m.unlock_ms = unlock_ms;
  m.exp = format_utc(exp);
  m.sig = sign(door_key, signed_fields(site, door, m));
  return m;
}

CommandMessage make_command_message(std::string_view site, std::string_view door,
                                    std::string_view door_key, std::string id, std::string cmd,
                                    std::int64_t unlock_ms, TimePoint exp) {
  CommandMessage m;
  m.id = std::move(id);
  m.cmd = std::move(cmd);
  m.unlock_ms = unlock_ms;
  m.exp = format_utc(exp);
  m.sig = sign(door_key, signed_fields(site, door, m));
  return m;
}

}  // namespace castellan::devices
