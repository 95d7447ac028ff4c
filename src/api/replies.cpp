#include "api/replies.hpp"

#include <algorithm>
#include <cmath>

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "core/crypto.hpp"

namespace castellan::api {
namespace json = boost::json;

Reply error_reply(Code code, std::string_view message, std::string_view trace_id) {
  json::object err{{"code", static_cast<std::int64_t>(code)},
                   {"name", code_name(code)},
                   {"message", message},
                   {"trace_id", trace_id}};
  return json_reply(http_status(code), json::object{{"error", std::move(err)}});
}

Reply error_reply(const Error& e, std::string_view trace_id) {
  if (http_status(e.code) < 500) return error_reply(e.code, e.message, trace_id);
  spdlog::warn("request {} failed with {}: {}", trace_id, static_cast<int>(e.code), e.message);
  return error_reply(e.code,
                     e.code == Code::ERR_TIMEOUT
                         ? "The request could not be completed in time; the server log has the "
                           "details under this trace_id."
                         : "The server could not complete the request right now; the server log "
                           "has the details under this trace_id.",
                     trace_id);
}

Reply json_reply(int status, const json::value& body) {
  return Reply{status, json::serialize(body)};
}

namespace {
bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

std::string trace_id_from(std::string_view tp) {
  // version "00": 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
  if (tp.size() >= 55 && tp[2] == '-' && tp[35] == '-' && tp[52] == '-' &&
      tp.substr(0, 2) != "ff" && is_lower_hex(tp.substr(0, 2))) {
    const std::string_view trace = tp.substr(3, 32);
    if (is_lower_hex(trace) && trace != std::string(32, '0')) return std::string(trace);
  }
  return new_trace_id();
}

namespace {

constexpr std::size_t kMaxBodyDepth = 16;

// A number too large for a double (1e400) parses as infinity, which serializes as `Infinity`:
// not JSON. Stored, it made the document unreadable and the server unable to start.
bool all_numbers_finite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return std::isfinite(v.get_double());
    case json::kind::array:
      return std::all_of(v.get_array().begin(), v.get_array().end(), all_numbers_finite);
    case json::kind::object:
      return std::all_of(
          v.get_object().begin(), v.get_object().end(),
          [](const json::key_value_pair& kv) { return all_numbers_finite(kv.value()); });
    default:
      return true;
  }
}

}  // namespace

Result<json::object> parse_object(std::string_view body) {
  if (body.empty())
    return make_error(Code::ERR_BAD_REQUEST, "The request body must be a JSON object.");
  boost::system::error_code ec;
  json::parse_options options;
  // Far more than any resource needs (a schedule is 3 deep), and low enough that the admin
  // record quoting a body stays within the journal's own limit of 32 (it was dropped before).
  options.max_depth = kMaxBodyDepth;
  json::value v = json::parse(body, ec, {}, options);
  if (ec == json::error::too_deep) {
    return make_error(Code::ERR_BAD_REQUEST, "The request body nests deeper than " +
                                                 std::to_string(kMaxBodyDepth) + " levels.");
  }
  if (ec) return make_error(Code::ERR_BAD_REQUEST, "The request body is not valid JSON.");
  if (!v.is_object())
    return make_error(Code::ERR_BAD_REQUEST, "The request body must be a JSON object.");
  if (!all_numbers_finite(v)) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "The request body holds a number too large for a double (e.g. 1e400).");
  }
  return std::move(v.get_object());
}

Result<std::string> required_string(const json::object& o, std::string_view field) {
  const auto* v = o.if_contains(field);
  if (!v)
    return make_error(Code::ERR_BAD_REQUEST, "Field '" + std::string(field) + "' is required.");
  if (!v->is_string()) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "Field '" + std::string(field) + "' must be a string.");
  }
  return std::string(v->get_string());
}

Result<std::string> optional_string(const json::object& o, std::string_view field,
                                    std::string fallback) {
  if (!o.contains(field)) return fallback;
  return required_string(o, field);
}

Result<int> parse_limit(const Request& request, int fallback) {
  const auto it = request.query.find("limit");
  if (it == request.query.end()) return fallback;
  int value = 0;
  const auto& text = it->second;
  if (text.empty() || text.size() > 4) {
    return make_error(Code::ERR_BAD_REQUEST, "Query parameter 'limit' must be an integer 1..1000.");
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      return make_error(Code::ERR_BAD_REQUEST,
                        "Query parameter 'limit' must be an integer 1..1000.");
    }
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > 1000) {
    return make_error(Code::ERR_BAD_REQUEST, "Query parameter 'limit' must be an integer 1..1000.");
  }
  return value;
}

std::string query_param(const Request& request, std::string_view name) {
  const auto it = request.query.find(name);
  return it == request.query.end() ? std::string() : it->second;
}

}  // namespace castellan::api
