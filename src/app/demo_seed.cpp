#include "app/demo_seed.hpp"

#include <boost/json.hpp>
#include <cstdio>

namespace castellan::app {
namespace {

std::string numbered(const char* prefix, int i, int width = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%0*d", prefix, width, i);
  return buf;
}

// Deterministic, distinct 8-byte UIDs so the demo can be replayed.
std::string demo_uid(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "04C4%012X", 0x5EED0000 + i);
  return buf;
}

}  // namespace

DemoSeed make_demo_seed(TimePoint now) {
  namespace json = boost::json;
  const auto year = std::chrono::hours(24 * 365);
  const std::string one_year_ago_iso = format_utc(now - year);
  const std::string one_year_ahead_iso = format_utc(now + year);
  DemoSeed seed;
  auto add = [&seed](const char* collection, json::object body) {
    seed.documents.push_back({collection, std::move(body)});
  };

  add("sites",
      {{"id", "hq"}, {"name", "Headquarters"}, {"tz", "Europe/Berlin"}, {"apb_reset_hours", 12}});

  add("schedules", {{"id", "office-hours"},
                    {"windows", json::array{json::object{
                                    {"days", json::array{"mon", "tue", "wed", "thu", "fri"}},
                                    {"from", "07:00"},
                                    {"to", "19:00"}}}},
                    {"holiday_windows", json::array{}}});
  add("schedules",
      {{"id", "night-shift"},
       {"windows", json::array{json::object{
                       {"days", json::array{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}},
                       {"from", "22:00"},
                       {"to", "06:00"}}}}});
  add("holidays",
      {{"id", "xmas-2026"}, {"site", "hq"}, {"date", "2026-12-25"}, {"name", "Christmas Day"}});

  const char* names[] = {
      "Main entrance", "Lobby turnstile", "Office east", "Office west",     "Lab",
      "Server room",   "Loading dock",    "Roof access", "Fire exit north", "Garage"};
  for (int i = 1; i <= 10; ++i) {
    const auto door = "d" + std::to_string(i);
    const auto ctl = numbered("ctl-", i, 2);
    json::object body{{"id", door},        {"site", "hq"},      {"name", names[i - 1]},
                      {"controller", ctl}, {"unlock_ms", 5000}, {"held_open_s", 30}};
    if (i == 9) body["fail_mode"] = "safe";
    if (i == 2) body["apb"] = true;
    add("doors", std::move(body));
    seed.door_ids.push_back(door);
    seed.controller_ids.push_back(ctl);
  }

  add("groups", {{"id", "staff"},
                 {"doors", json::array{"d1", "d2", "d3", "d4", "d9"}},
                 {"schedule", "office-hours"}});
  add("groups", {{"id", "lab"}, {"doors", json::array{"d5"}}, {"schedule", "office-hours"}});
  add("groups",
      {{"id", "security"},
       {"doors", json::array{"d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10"}}});
  add("groups",
      {{"id", "night"}, {"doors", json::array{"d1", "d7", "d10"}}, {"schedule", "night-shift"}});

  for (int i = 1; i <= 60; ++i) {
    const auto user = numbered("u", i);
    json::object u{{"id", user}, {"name", "Demo user " + std::to_string(i)}};
    if (i == 60) u["status"] = "suspended";
    add("users", std::move(u));
    const auto uid = demo_uid(i);
    json::object card{{"id", numbered("c", i)},
                      {"uid", uid},
                      {"user", user},
                      {"valid_from", one_year_ago_iso},
                      {"valid_until", one_year_ahead_iso}};
    if (i == 59) card["status"] = "revoked";
    add("cards", std::move(card));
    if (i < 59) seed.valid_uids.push_back(uid);
  }
  // Group membership: everyone is staff; every fifth user is security, every seventh is lab,
  // users 50-54 work nights.
  for (int i = 1; i <= 60; ++i) {
    json::array groups{"staff"};
    if (i % 5 == 0) groups.push_back("security");
    if (i % 7 == 0) groups.push_back("lab");
    if (i >= 50 && i <= 54) groups.push_back("night");
    add("user_groups", {{"id", numbered("u", i)}, {"groups", std::move(groups)}});
  }
  // An expired visitor card.
  add("users", {{"id", "visitor-1"}, {"name", "Expired visitor"}});
  const auto expired_uid = demo_uid(999);
  add("cards", {{"id", "c-expired"},
                {"uid", expired_uid},
                {"user", "visitor-1"},
                {"valid_from", format_utc(now - 2 * year)},
                {"valid_until", one_year_ago_iso}});
  seed.expired_uids.push_back(expired_uid);
  return seed;
}

}  // namespace castellan::app
