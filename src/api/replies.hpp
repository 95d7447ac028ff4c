// Building replies: the contract's error shape, JSON bodies, trace ids and body parsing.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "api/http_types.hpp"
#include "core/ids.hpp"  // new_trace_id
#include "core/result.hpp"

namespace castellan::api {

// {"error":{"code","name","message","trace_id"}} with the code's HTTP status.
Reply error_reply(Code code, std::string_view message, std::string_view trace_id);
// The same for an Error from a port. A 4xx message is about the request and is shown as it is;
// a 5xx message may carry internals (file paths, strerror, SQLite text): it is logged with the
// trace id and the client gets a fixed sentence instead.
Reply error_reply(const Error& e, std::string_view trace_id);
Reply json_reply(int status, const boost::json::value& body);

// The trace id of a valid W3C `traceparent` ("00-<32 hex>-<16 hex>-<2 hex>"), else a fresh one.
std::string trace_id_from(std::string_view traceparent);

// The request body as a JSON object, or 40001 saying what is wrong.
Result<boost::json::object> parse_object(std::string_view body);

// Typed field access for handler validation; errors name the field.
Result<std::string> required_string(const boost::json::object& o, std::string_view field);
Result<std::string> optional_string(const boost::json::object& o, std::string_view field,
                                    std::string fallback);

// `?limit=` as 1..1000 (default `fallback`), or 40001.
Result<int> parse_limit(const Request& request, int fallback);
// A query parameter, or "" when absent.
std::string query_param(const Request& request, std::string_view name);

}  // namespace castellan::api
