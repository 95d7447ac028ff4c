// JsonReader: reads typed fields out of one JSON object and remembers the first problem as a
// precise sentence naming the field ("field 'unlock_ms' must be an integer"). Callers read
// everything, then check ok(); this keeps the decoders flat and free of early-return chains.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/time.hpp"

namespace castellan::access {

class JsonReader {
 public:
  // `prefix` is prepended to field names in messages, e.g. "windows[2]."
  explicit JsonReader(const boost::json::object& obj, std::string prefix = {})
      : obj_(obj), prefix_(std::move(prefix)) {}

  bool has(std::string_view key) const;
  // Required fields fail with "missing field 'x'"; optional ones return the default.
  std::string string(std::string_view key);
  std::optional<std::string> optional_string(std::string_view key);
  std::string id(std::string_view key);       // [A-Za-z0-9_.-]{1,64}
  std::string site_id(std::string_view key);  // [a-z0-9-]{1,32}
  std::optional<std::int64_t> optional_int(std::string_view key, std::int64_t min,
                                           std::int64_t max);
  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max);
  bool boolean(std::string_view key, bool fallback);
  std::optional<TimePoint> optional_time(std::string_view key);
  TimePoint time(std::string_view key);
  // One of `allowed`; returns its index or `fallback` when absent.
  std::size_t choice(std::string_view key, std::initializer_list<std::string_view> allowed,
                     std::optional<std::size_t> fallback);
  std::vector<std::string> id_list(std::string_view key, bool required);
  const boost::json::array* array(std::string_view key, bool required);
  std::string hex(std::string_view key, std::size_t digits);

  void fail(std::string message);
  std::string name(std::string_view key) const { return prefix_ + std::string(key); }
  bool ok() const { return error_.empty(); }
  Error error() const { return make_error(Code::ERR_BAD_REQUEST, error_); }
  // Hands the first error (if any) to an outer reader.
  void merge_into(JsonReader& outer) const {
    if (!ok()) outer.fail(error_);
  }

 private:
  const boost::json::value* find(std::string_view key, bool required);

  const boost::json::object& obj_;
  std::string prefix_;
  std::string error_;
};

}  // namespace castellan::access
