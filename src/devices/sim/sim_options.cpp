#include "devices/sim/sim_options.hpp"

#include <cmath>

#include <boost/json.hpp>
#include <charconv>
#include <fstream>
#include <sstream>

#include "core/ids.hpp"
#include "devices/signing.hpp"

namespace castellan::devices::sim {
namespace json = boost::json;
namespace {

Result<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(Code::ERR_BAD_REQUEST, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<json::value> read_json(const std::string& path) {
  auto text = read_whole(path);
  if (!text) return text.error();
  std::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec) return make_error(Code::ERR_BAD_REQUEST, path + ": not valid JSON: " + ec.message());
  return v;
}

}  // namespace

Result<std::map<std::string, std::string>> load_door_keys(const std::string& path) {
  auto v = read_json(path);
  if (!v) return v.error();
  if (!v->is_object())
    return make_error(Code::ERR_BAD_REQUEST, path + ": expected {\"door\":\"hex key\"}");
  std::map<std::string, std::string> keys;
  for (const auto& [door, hex] : v->as_object()) {
    if (!hex.is_string()) {
      return make_error(Code::ERR_BAD_REQUEST,
                        path + ": key of door '" + std::string(door) + "' is not a string");
    }
    auto key = door_key_from_hex(std::string_view(hex.as_string()));
    if (!key) {
      return make_error(Code::ERR_BAD_REQUEST,
                        path + ": door '" + std::string(door) + "': " + key.error().message);
    }
    keys[std::string(door)] = *key;
  }
  return keys;
}

Result<std::vector<std::string>> load_card_list(const std::string& path) {
  auto text = read_whole(path);
  if (!text) return text.error();
  std::vector<std::string> raw;
  std::string_view t = *text;
  if (t.find_first_not_of(" \t\r\n") != std::string_view::npos &&
      t[t.find_first_not_of(" \t\r\n")] == '[') {
    auto v = read_json(path);
    if (!v) return v.error();
    for (const auto& e : v->as_array()) {
      if (!e.is_string())
        return make_error(Code::ERR_BAD_REQUEST, path + ": card list holds a non-string");
      raw.emplace_back(e.as_string());
    }
  } else {
    std::istringstream lines(*text);
    for (std::string l; std::getline(lines, l);) {
      auto b = l.find_first_not_of(" \t\r");
      if (b == std::string::npos || l[b] == '#') continue;
      auto e = l.find_last_not_of(" \t\r");
      raw.push_back(l.substr(b, e - b + 1));
    }
  }
  std::vector<std::string> cards;
  for (const auto& uid : raw) {
    auto n = normalize_card_uid(uid);
    // Never echo a UID into an error message: only its position.
    if (!n) {
      return make_error(Code::ERR_BAD_REQUEST, path + ": entry " +
                                                   std::to_string(cards.size() + 1) +
                                                   " is not a card UID of 8-32 hex digits");
    }
    cards.push_back(*n);
  }
  return cards;
}

Result<std::map<std::string, MqttCredentials>> load_device_credentials(const std::string& path) {
  auto v = read_json(path);
  if (!v) return v.error();
  if (!v->is_object()) {
    return make_error(Code::ERR_BAD_REQUEST,
                      path + ": expected {\"device\":{\"username\",\"password\"}}");
  }
  std::map<std::string, MqttCredentials> out;
  for (const auto& [device, c] : v->as_object()) {
    const auto* o = c.if_object();
    const json::value* u = o ? o->if_contains("username") : nullptr;
    const json::value* p = o ? o->if_contains("password") : nullptr;
    if (!u || !p || !u->is_string() || !p->is_string()) {
      return make_error(Code::ERR_BAD_REQUEST, path + ": device '" + std::string(device) +
                                                   "' needs username and password strings");
    }
    out[std::string(device)] =
        MqttCredentials{std::string(u->as_string()), std::string(p->as_string())};
  }
  return out;
}

Result<SwipeMix> parse_swipe_mix(std::string_view text) {
  SwipeMix mix{0, 0, 0, 0};
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      return make_error(Code::ERR_BAD_REQUEST,
                        "swipe mix item '" + std::string(item) + "' is not name=weight");
    }
    std::string_view name = item.substr(0, eq), num = item.substr(eq + 1);
    double w = 0;
    auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), w);
    if (ec != std::errc{} || p != num.data() + num.size() || !std::isfinite(w) || w < 0) {
      return make_error(Code::ERR_BAD_REQUEST,
                        "swipe mix weight '" + std::string(num) + "' is not a number >= 0");
    }
    if (name == "valid")
      mix.valid = w;
    else if (name == "unknown")
      mix.unknown = w;
    else if (name == "expired")
      mix.expired = w;
    else if (name == "malformed")
      mix.malformed = w;
    else
      return make_error(Code::ERR_BAD_REQUEST, "unknown swipe kind '" + std::string(name) +
                                                   "' (valid, unknown, expired, malformed)");
  }
  if (mix.valid + mix.unknown + mix.expired + mix.malformed <= 0) {
    return make_error(Code::ERR_BAD_REQUEST, "swipe mix has no positive weight");
  }
  return mix;
}

}  // namespace castellan::devices::sim
