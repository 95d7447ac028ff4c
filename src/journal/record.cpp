#include "journal/record.hpp"

#include <limits>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>

#include "core/crypto.hpp"
#include "core/log.hpp"

namespace castellan::journal {
namespace {

namespace json = boost::json;

constexpr std::array<std::string_view, 10> kKindNames = {
    "decision", "door_state", "device_online", "device_offline", "force_unlock",
    "lockdown", "door_alarm", "admin",         "resilience",     "task_leak"};

// §5 member names: `extra` may not reuse them.
constexpr std::array<std::string_view, 19> kStandardNames = {
    "seq",       "ts",   "kind",     "trace_id", "site",   "door",       "req",
    "card_hash", "user", "decision", "code",     "source", "gateway_ip", "latency_us",
    "dir",       "pass", "pass_use", "prev",     "hash"};

bool is_standard_name(std::string_view name) {
  for (auto n : kStandardNames) {
    if (n == name) return true;
  }
  return false;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

// A number too large for a double (1e400) parses as infinity, which serializes as `Infinity`:
// not JSON, so a line holding one could not be read back (found by fuzz/journal_record.cpp).
bool all_numbers_finite(const json::value& v);
bool all_numbers_finite(const json::object& o) {
  return std::all_of(o.begin(), o.end(),
                     [](const json::key_value_pair& kv) { return all_numbers_finite(kv.value()); });
}
bool all_numbers_finite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return std::isfinite(v.get_double());
    case json::kind::array:
      return std::all_of(v.get_array().begin(), v.get_array().end(),
                         [](const json::value& e) { return all_numbers_finite(e); });
    case json::kind::object:
      return all_numbers_finite(v.get_object());
    default:
      return true;
  }
}

void add_string(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty()) return;
  out += ",\"";
  out += name;
  out += "\":\"";
  append_json_escaped(out, value);
  out += '"';
}

void add_int(std::string& out, std::string_view name, std::int64_t value) {
  out += ",\"";
  out += name;
  out += "\":";
  out += std::to_string(value);
}

}  // namespace

std::string encode_members(const JournalRecord& r) {
  std::string out;
  out.reserve(320 + r.extra.size());
  add_string(out, "kind", kind_name(r.kind));
  add_string(out, "trace_id", r.trace_id);
  add_string(out, "site", r.site);
  add_string(out, "door", r.door);
  add_string(out, "req", r.req);
  add_string(out, "card_hash", r.card_hash);
  add_string(out, "user", r.user);
  add_string(out, "decision", r.decision);
  if (r.code) add_int(out, "code", *r.code);
  add_string(out, "source", r.source);
  add_string(out, "gateway_ip", r.gateway_ip);
  if (r.latency_us) add_int(out, "latency_us", *r.latency_us);
  add_string(out, "dir", r.dir);
  add_string(out, "pass", r.pass);
  if (r.pass_use) add_int(out, "pass_use", *r.pass_use);
  // extra is "{...}" in compact form; its members go in between.
  if (r.extra.size() > 2) {
    out += ',';
    out.append(r.extra, 1, r.extra.size() - 2);
  }
  return out;
}

namespace {

// Everything but hash, without the closing brace.
std::string encode_body(const JournalRecord& r, std::string_view members) {
  std::string out;
  out.reserve(members.size() + kSealedLineOverhead);
  out += "{\"seq\":";
  out += std::to_string(r.seq);
  add_string(out, "ts", format_utc(r.ts));
  out += members;
  out += ",\"prev\":\"";
  append_json_escaped(out, r.prev);
  out += '"';
  return out;
}

std::string encode_body(const JournalRecord& r) {
  return encode_body(r, encode_members(r));
}

Error bad_line(std::string message) {
  return make_error(Code::ERR_BAD_REQUEST, "journal record: " + std::move(message));
}

// Built with append: g++ 12 at -O3 warns (-Wrestrict, a false positive) on "'" + string.
Error field_error(std::string_view key, std::string_view what) {
  std::string message = "'";
  message.append(key);
  message.append("' ");
  message.append(what);
  return bad_line(std::move(message));
}

}  // namespace

std::string_view kind_name(RecordKind kind) {
  const auto i = static_cast<std::size_t>(kind);
  return i < kKindNames.size() ? kKindNames[i] : std::string_view{"unknown"};
}

std::optional<RecordKind> parse_kind(std::string_view name) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<RecordKind>(i);
  }
  return std::nullopt;
}

const std::string& genesis_hash() {
  static const std::string zeros(64, '0');
  return zeros;
}

Result<void> validate_and_normalize(JournalRecord& r) {
  const std::pair<std::string_view, const std::string*> fields[] = {{"trace_id", &r.trace_id},
                                                                    {"site", &r.site},
                                                                    {"door", &r.door},
                                                                    {"req", &r.req},
                                                                    {"card_hash", &r.card_hash},
                                                                    {"user", &r.user},
                                                                    {"decision", &r.decision},
                                                                    {"source", &r.source},
                                                                    {"gateway_ip", &r.gateway_ip},
                                                                    {"dir", &r.dir},
                                                                    {"pass", &r.pass}};
  for (const auto& [name, value] : fields) {
    if (!is_valid_utf8(*value)) {
      return make_error(Code::ERR_BAD_REQUEST,
                        "journal record field '" + std::string(name) + "' is not valid UTF-8");
    }
  }
  if (static_cast<std::size_t>(r.kind) >= kKindNames.size()) {
    return make_error(Code::ERR_BAD_REQUEST, "journal record has an unknown kind");
  }
  // `ts` is written as YYYY-MM-DDThh:mm:ss.mmmZ: a year outside 0001-9999 would be sealed in a
  // form that cannot be read back (verify, queries and recovery would fail on it).
  using namespace std::chrono;
  static const TimePoint kFirstTs = sys_days{year{1} / January / 1};
  static const TimePoint kLastTs = sys_days{year{9999} / December / 31} + days{1} - milliseconds{1};
  if (r.ts != TimePoint{} && (r.ts < kFirstTs || r.ts > kLastTs)) {
    return make_error(Code::ERR_BAD_REQUEST, "journal record 'ts' must be in the years 0001-9999");
  }
  if (r.extra.empty()) return {};
  json::error_code ec;
  json::value v = json::parse(r.extra, ec);
  if (ec || !v.is_object()) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "journal record 'extra' must be the text of a JSON object");
  }
  for (const auto& member : v.as_object()) {
    if (is_standard_name(member.key())) {
      return make_error(Code::ERR_BAD_REQUEST, "journal record 'extra' may not set the §5 field '" +
                                                   std::string(member.key()) + "'");
    }
  }
  if (!all_numbers_finite(v)) {
    return make_error(Code::ERR_BAD_REQUEST,
                      "journal record 'extra' holds a number too large for a double");
  }
  if (v.as_object().empty()) {
    r.extra.clear();
    return {};
  }
  // Boost.JSON 1.81 does not always read a number as the nearest double (it has no precise
  // mode), and it writes the shortest text of the double it read, so a text may not read back as
  // itself: "5e-34" is written 4.999999999999999E-34, which reads back as 4.9999999999999986E-34.
  // verify re-encodes every record it reads and compares the bytes: store a text that reads
  // back as itself (found by fuzz/journal_record.cpp).
  std::string text = json::serialize(v);
  for (int round = 0;; ++round) {
    json::value again = json::parse(text, ec);
    std::string again_text = ec ? std::string() : json::serialize(again);
    if (again_text == text) break;
    if (round == 4) {
      return make_error(Code::ERR_BAD_REQUEST,
                        "journal record 'extra' holds a number that does not read back the same");
    }
    text = std::move(again_text);
  }
  r.extra = std::move(text);
  return {};
}

std::string canonical_bytes(const JournalRecord& record) {
  return encode_body(record) + "}";
}

std::string to_json_line(const JournalRecord& record) {
  std::string out = encode_body(record);
  out += ",\"hash\":\"";
  out += json_escape(record.hash);
  out += "\"}";
  return out;
}

std::string compute_hash(const JournalRecord& record) {
  return to_hex(sha256(canonical_bytes(record)));
}

std::string seal(JournalRecord& record, std::string_view members) {
  std::string line = encode_body(record, members);
  line += '}';
  record.hash = to_hex(sha256(line));
  line.pop_back();
  line += ",\"hash\":\"";
  line += record.hash;  // hex: nothing to escape
  line += "\"}";
  return line;
}

std::string seal(JournalRecord& record) {
  return seal(record, encode_members(record));
}

Result<JournalRecord> parse_json_line(std::string_view line) {
  json::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) return bad_line("not JSON: " + ec.message());
  if (!v.is_object()) return bad_line("not a JSON object");
  JournalRecord r;
  json::object extra;
  bool have_seq = false, have_ts = false, have_kind = false;
  for (const auto& member : v.as_object()) {
    const std::string_view key = member.key();
    const json::value& value = member.value();
    auto text = [&](std::string& field) -> Result<void> {
      if (!value.is_string()) return field_error(key, "is not a string");
      field = std::string(value.as_string());
      return {};
    };
    Result<void> step;
    if (key == "seq") {
      if (!value.is_uint64() && !(value.is_int64() && value.as_int64() >= 0)) {
        return bad_line("'seq' is not a non-negative integer");
      }
      r.seq = value.to_number<std::uint64_t>();
      have_seq = true;
    } else if (key == "ts") {
      std::string ts;
      step = text(ts);
      if (!step) return step.error();
      auto t = parse_utc(ts);
      if (!t) return bad_line("'ts' is not an RFC 3339 time");
      r.ts = *t;
      have_ts = true;
    } else if (key == "kind") {
      std::string name;
      step = text(name);
      if (!step) return step.error();
      auto kind = parse_kind(name);
      if (!kind) return bad_line("unknown kind '" + name + "'");
      r.kind = *kind;
      have_kind = true;
    } else if (key == "code" || key == "latency_us" || key == "pass_use") {
      // Boost.JSON holds an integer above INT64_MAX as uint64: out of range here, like a
      // code that does not fit an int (an edited record must be reported, not throw).
      if (!value.is_int64()) {
        return field_error(key, value.is_uint64() ? "is out of range" : "is not an integer");
      }
      const std::int64_t n = value.get_int64();
      if (key == "code") {
        if (n < std::numeric_limits<int>::min() || n > std::numeric_limits<int>::max()) {
          return field_error(key, "is out of range");
        }
        r.code = static_cast<int>(n);
      } else if (key == "latency_us") {
        r.latency_us = n;
      } else {
        r.pass_use = n;
      }
    } else if (key == "trace_id") {
      step = text(r.trace_id);
    } else if (key == "site") {
      step = text(r.site);
    } else if (key == "door") {
      step = text(r.door);
    } else if (key == "req") {
      step = text(r.req);
    } else if (key == "card_hash") {
      step = text(r.card_hash);
    } else if (key == "user") {
      step = text(r.user);
    } else if (key == "decision") {
      step = text(r.decision);
    } else if (key == "source") {
      step = text(r.source);
    } else if (key == "gateway_ip") {
      step = text(r.gateway_ip);
    } else if (key == "dir") {
      step = text(r.dir);
    } else if (key == "pass") {
      step = text(r.pass);
    } else if (key == "prev") {
      step = text(r.prev);
    } else if (key == "hash") {
      step = text(r.hash);
    } else {
      extra.emplace(key, value);
    }
    if (!step) return step.error();
  }
  if (!have_seq || !have_ts || !have_kind) return bad_line("'seq', 'ts' or 'kind' missing");
  if (!all_numbers_finite(extra)) return bad_line("a member holds a number too large for a double");
  if (!extra.empty()) r.extra = json::serialize(extra);
  return r;
}

}  // namespace castellan::journal
