// Typed domain model of the access-control resources (contract §6 "Resources"). These are the
// decoded forms of the stored JSON documents; the documents themselves (with any extra fields
// an operator added) stay the source of truth in the Store. See codec.hpp for the conversion.
#pragma once

#include <date/date.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.hpp"
#include "core/time.hpp"

namespace castellan::access {

// The resource collections of the API, in one enum so store, codec and service agree.
enum class Collection : std::uint8_t {
  sites,
  doors,
  users,
  cards,
  groups,
  schedules,
  holidays,
  passes,
  accounts,  // API log-ins {username, password_hash, role}; keyed by "username"
};
inline constexpr Collection kAllCollections[] = {
    Collection::sites,    Collection::doors,  Collection::users,
    Collection::cards,    Collection::groups, Collection::schedules,
    Collection::holidays, Collection::passes, Collection::accounts};

// "sites", "doors", ... (the URL segment).
std::string_view collection_name(Collection c);
std::optional<Collection> collection_from_name(std::string_view name);
// Name of the key field of a collection's documents: "username" for accounts, else "id".
std::string_view key_field(Collection c);

// HMAC-SHA256(card_secret, lower(uid)); 32 raw bytes.
using CardHash = Digest;

enum class FailMode : std::uint8_t { secure, safe };
enum class UserStatus : std::uint8_t { active, suspended };
enum class CardStatus : std::uint8_t { active, revoked, lost };
enum class Direction : std::uint8_t { in, out };

struct Site {
  std::string id;
  std::string name;
  std::string tz;  // IANA zone name, validated with date::locate_zone
  int apb_reset_hours = 12;
  bool lockdown = false;
};

struct Door {
  std::string id;
  std::string site;
  std::string name;
  std::string controller;  // device id of the door controller
  int unlock_ms = 5000;
  int held_open_s = 30;
  FailMode fail_mode = FailMode::secure;
  bool apb = false;
  bool lockdown = false;
  std::string key_hex;  // 32-byte signing key, hex; never in the public JSON
};

struct User {
  std::string id;
  std::string name;
  UserStatus status = UserStatus::active;
};

struct Card {
  std::string id;
  std::string user;
  CardHash hash{};
  std::string last4;
  CardStatus status = CardStatus::active;
  std::optional<TimePoint> valid_from;
  std::optional<TimePoint> valid_until;
};

struct Group {
  std::string id;
  std::vector<std::string> doors;
  std::optional<std::string> schedule;  // none = at any time
  std::vector<std::string> members;     // user ids; the source of truth for membership
};

// Days are a bitmask over date::weekday::c_encoding() (bit 0 = Sunday ... bit 6 = Saturday).
// Times are minutes since local midnight; `to_min` may be 1440 ("24:00"). A window with
// to_min < from_min spans midnight and belongs to the day it starts on.
struct TimeWindow {
  std::uint8_t days = 0;
  std::uint16_t from_min = 0;
  std::uint16_t to_min = 0;
};

struct Schedule {
  std::string id;
  std::vector<TimeWindow> windows;
  std::vector<TimeWindow> holiday_windows;  // used on a holiday of the site instead of windows
};

struct Holiday {
  std::string id;
  std::string site;
  date::year_month_day date{};
  std::string name;
};

struct Pass {
  std::string id;
  CardHash hash{};
  std::string last4;
  std::string holder;
  std::vector<std::string> doors;
  TimePoint valid_from;
  TimePoint valid_until;
  std::uint32_t max_uses = 1;
};

std::string_view to_string(FailMode m);
std::string_view to_string(UserStatus s);
std::string_view to_string(CardStatus s);
std::string_view to_string(Direction d);

}  // namespace castellan::access
