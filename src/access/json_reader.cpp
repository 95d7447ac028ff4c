#include "access/json_reader.hpp"

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "core/ids.hpp"

namespace castellan::access {

namespace json = boost::json;

bool JsonReader::has(std::string_view key) const {
  auto* v = obj_.if_contains(key);
  return v != nullptr && !v->is_null();
}

void JsonReader::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

const json::value* JsonReader::find(std::string_view key, bool required) {
  const json::value* v = obj_.if_contains(key);
  if (v == nullptr || v->is_null()) {
    if (required) fail("missing field '" + name(key) + "'");
    return nullptr;
  }
  return v;
}

std::optional<std::string> JsonReader::optional_string(std::string_view key) {
  const json::value* v = find(key, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    fail("field '" + name(key) + "' must be a string");
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::string JsonReader::string(std::string_view key) {
  if (find(key, true) == nullptr) return {};
  return optional_string(key).value_or("");
}

std::string JsonReader::id(std::string_view key) {
  std::string s = string(key);
  if (ok() && !is_valid_id(s)) {
    fail("field '" + name(key) + "' is not a valid id (1-64 of A-Z a-z 0-9 _ . -): '" + s + "'");
  }
  return s;
}

std::string JsonReader::site_id(std::string_view key) {
  std::string s = string(key);
  if (ok() && !is_valid_site_id(s)) {
    fail("field '" + name(key) + "' is not a valid site id (1-32 of a-z 0-9 -): '" + s + "'");
  }
  return s;
}

std::optional<std::int64_t> JsonReader::optional_int(std::string_view key, std::int64_t min,
                                                     std::int64_t max) {
  const json::value* v = find(key, false);
  if (v == nullptr) return std::nullopt;
  std::int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    n = static_cast<std::int64_t>(v->get_uint64());
  } else {
    fail("field '" + name(key) + "' must be an integer");
    return std::nullopt;
  }
  if (n < min || n > max) {
    fail("field '" + name(key) + "' must be between " + std::to_string(min) + " and " +
         std::to_string(max) + ", got " + std::to_string(n));
    return std::nullopt;
  }
  return n;
}

std::int64_t JsonReader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  if (find(key, true) == nullptr) return 0;
  return optional_int(key, min, max).value_or(0);
}

bool JsonReader::boolean(std::string_view key, bool fallback) {
  const json::value* v = find(key, false);
  if (v == nullptr) return fallback;
  if (!v->is_bool()) {
    fail("field '" + name(key) + "' must be true or false");
    return fallback;
  }
  return v->get_bool();
}

std::optional<TimePoint> JsonReader::optional_time(std::string_view key) {
  auto s = optional_string(key);
  if (!s) return std::nullopt;
  auto t = parse_utc(*s);
  if (!t) {
    fail("field '" + name(key) + "' is not an RFC 3339 time: '" + *s + "'");
    return std::nullopt;
  }
  return *t;
}

TimePoint JsonReader::time(std::string_view key) {
  if (find(key, true) == nullptr) return {};
  return optional_time(key).value_or(TimePoint{});
}

std::size_t JsonReader::choice(std::string_view key,
                               std::initializer_list<std::string_view> allowed,
                               std::optional<std::size_t> fallback) {
  auto s = fallback ? optional_string(key) : std::optional<std::string>(string(key));
  if (!ok()) return 0;
  if (!s) return *fallback;
  std::size_t i = 0;
  std::string list;
  for (std::string_view a : allowed) {
    if (a == *s) return i;
    list += (i == 0 ? "\"" : ", \"") + std::string(a) + "\"";
    ++i;
  }
  fail("field '" + name(key) + "' must be one of " + list + ", got \"" + *s + "\"");
  return 0;
}

const json::array* JsonReader::array(std::string_view key, bool required) {
  const json::value* v = find(key, required);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    fail("field '" + name(key) + "' must be an array");
    return nullptr;
  }
  return &v->get_array();
}

std::vector<std::string> JsonReader::id_list(std::string_view key, bool required) {
  std::vector<std::string> out;
  const json::array* a = array(key, required);
  if (a == nullptr) return out;
  for (std::size_t i = 0; i < a->size(); ++i) {
    const json::value& e = (*a)[i];
    std::string field = name(key) + "[" + std::to_string(i) + "]";
    if (!e.is_string()) {
      fail("field '" + field + "' must be a string");
      return out;
    }
    std::string s(e.get_string());
    if (!is_valid_id(s)) {
      fail(fmt::format("field '{}' is not a valid id (1-64 of A-Z a-z 0-9 _ . -): '{}'", field, s));
      return out;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::string JsonReader::hex(std::string_view key, std::size_t digits) {
  std::string s = string(key);
  if (ok() && (s.size() != digits || !from_hex(s))) {
    fail("field '" + name(key) + "' must be " + std::to_string(digits) + " hex digits");
  }
  return s;
}

}  // namespace castellan::access
