// Validation + decoding of stored resource documents into the typed model.
#include <date/tz.h>

#include "access/codec.hpp"
#include "access/json_reader.hpp"
#include "core/crypto.hpp"

namespace castellan::access {

namespace {

template <class T>
Result<T> finish(const JsonReader& r, T value) {
  if (!r.ok()) return r.error();
  return value;
}

CardHash hash_from_hex(const std::string& hex) {
  CardHash h{};
  if (auto bytes = from_hex(hex); bytes && bytes->size() == h.size()) {
    std::copy(bytes->begin(), bytes->end(), h.begin());
  }
  return h;
}

std::vector<TimeWindow> read_windows(JsonReader& r, std::string_view key, bool required,
                                     bool days_required) {
  std::vector<TimeWindow> out;
  const json::array* a = r.array(key, required);
  if (a == nullptr) return out;
  for (std::size_t i = 0; i < a->size() && r.ok(); ++i) {
    std::string prefix = r.name(key) + "[" + std::to_string(i) + "].";
    if (!(*a)[i].is_object()) {
      r.fail("field '" + r.name(key) + "[" + std::to_string(i) + "]' must be an object");
      break;
    }
    JsonReader w((*a)[i].get_object(), prefix);
    TimeWindow tw;
    const json::array* days = w.array("days", days_required);
    if (days == nullptr) {
      tw.days = 0x7f;
    } else if (days->empty()) {
      w.fail("field '" + w.name("days") + "' must not be empty");
    } else {
      for (std::size_t d = 0; d < days->size() && w.ok(); ++d) {
        const json::value& v = (*days)[d];
        auto day = v.is_string() ? parse_day(v.get_string()) : std::nullopt;
        if (!day) {
          w.fail("field '" + w.name("days") + "[" + std::to_string(d) + "]': unknown day " +
                 json::serialize(v) + " (expected mon, tue, wed, thu, fri, sat or sun)");
        } else {
          tw.days |= static_cast<std::uint8_t>(1u << *day);
        }
      }
    }
    for (std::string_view f : {"from", "to"}) {
      std::string s = w.string(f);
      if (!w.ok()) break;
      auto m = parse_hhmm(s);
      if (!m || (f == "from" && *m == 1440)) {
        w.fail("field '" + w.name(f) + "': bad time '" + s + "' (expected HH:MM, 00:00-" +
               (f == "from" ? "23:59" : "24:00") + ")");
        break;
      }
      (f == "from" ? tw.from_min : tw.to_min) = static_cast<std::uint16_t>(*m);
    }
    if (w.ok() && tw.from_min == tw.to_min) {
      w.fail("field '" + prefix +
             "to' equals 'from': the window is empty (use 00:00-24:00 "
             "for a whole day)");
    }
    w.merge_into(r);
    out.push_back(tw);
  }
  return out;
}

}  // namespace

std::optional<int> parse_hhmm(std::string_view t) {
  if (t.size() != 5 || t[2] != ':') return std::nullopt;
  for (int i : {0, 1, 3, 4}) {
    if (t[i] < '0' || t[i] > '9') return std::nullopt;
  }
  int h = (t[0] - '0') * 10 + (t[1] - '0');
  int m = (t[3] - '0') * 10 + (t[4] - '0');
  if (m > 59 || h > 24 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}

std::optional<unsigned> parse_day(std::string_view text) {
  static constexpr std::string_view kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  for (unsigned i = 0; i < 7; ++i) {
    if (kDays[i] == text) return i;
  }
  return std::nullopt;
}

Result<Site> decode_site(const json::object& doc) {
  JsonReader r(doc);
  Site s;
  s.id = r.site_id("id");
  s.name = r.string("name");
  s.tz = r.string("tz");
  if (r.ok()) {
    try {
      // "localtime" is a file of the OS's zoneinfo (a link to the host's own /etc/localtime),
      // not an IANA name: a site's windows would move with the host's setting.
      if (s.tz == "localtime") throw std::invalid_argument("not an IANA time zone");
      (void)date::locate_zone(s.tz);
    } catch (const std::exception&) {
      r.fail("field 'tz': unknown time zone '" + s.tz +
             "' (expected an IANA name such as "
             "Europe/Berlin)");
    }
  }
  s.apb_reset_hours = static_cast<int>(r.optional_int("apb_reset_hours", 1, 8760).value_or(12));
  s.lockdown = r.boolean("lockdown", false);
  return finish(r, std::move(s));
}

Result<Door> decode_door(const json::object& doc) {
  JsonReader r(doc);
  Door d;
  d.id = r.id("id");
  d.site = r.site_id("site");
  d.name = r.string("name");
  d.controller = r.id("controller");
  d.unlock_ms = static_cast<int>(r.optional_int("unlock_ms", 1, 600000).value_or(5000));
  d.held_open_s = static_cast<int>(r.optional_int("held_open_s", 1, 86400).value_or(30));
  d.fail_mode =
      r.choice("fail_mode", {"secure", "safe"}, 0) == 1 ? FailMode::safe : FailMode::secure;
  d.apb = r.boolean("apb", false);
  d.lockdown = r.boolean("lockdown", false);
  d.key_hex = r.hex("key", 64);
  return finish(r, std::move(d));
}

Result<User> decode_user(const json::object& doc) {
  JsonReader r(doc);
  User u;
  u.id = r.id("id");
  u.name = r.string("name");
  u.status = r.choice("status", {"active", "suspended"}, 0) == 1 ? UserStatus::suspended
                                                                 : UserStatus::active;
  return finish(r, std::move(u));
}

Result<Card> decode_card(const json::object& doc) {
  JsonReader r(doc);
  Card c;
  c.id = r.id("id");
  c.user = r.id("user");
  c.hash = hash_from_hex(r.hex("card_hash", 64));
  c.last4 = r.hex("last4", 4);
  c.status = static_cast<CardStatus>(r.choice("status", {"active", "revoked", "lost"}, 0));
  c.valid_from = r.optional_time("valid_from");
  c.valid_until = r.optional_time("valid_until");
  if (r.ok() && c.valid_from && c.valid_until && *c.valid_until <= *c.valid_from) {
    r.fail("field 'valid_until' must be after 'valid_from'");
  }
  return finish(r, std::move(c));
}

Result<Group> decode_group(const json::object& doc) {
  JsonReader r(doc);
  Group g;
  g.id = r.id("id");
  g.doors = r.id_list("doors", true);
  if (r.has("schedule")) g.schedule = r.id("schedule");
  g.members = r.id_list("members", false);
  return finish(r, std::move(g));
}

Result<Schedule> decode_schedule(const json::object& doc) {
  JsonReader r(doc);
  Schedule s;
  s.id = r.id("id");
  s.windows = read_windows(r, "windows", true, true);
  s.holiday_windows = read_windows(r, "holiday_windows", false, false);
  return finish(r, std::move(s));
}

Result<Holiday> decode_holiday(const json::object& doc) {
  JsonReader r(doc);
  Holiday h;
  h.id = r.id("id");
  h.site = r.site_id("site");
  std::string d = r.string("date");
  h.name = r.string("name");
  if (r.ok()) {
    // Digits exactly where YYYY-MM-DD has them (no sign, no space), so a day has one spelling.
    bool shape = d.size() == 10;
    for (std::size_t i = 0; shape && i < d.size(); ++i) {
      shape = (i == 4 || i == 7) ? d[i] == '-' : (d[i] >= '0' && d[i] <= '9');
    }
    const auto number = [&](std::size_t at, std::size_t n) {
      return shape ? std::stoi(d.substr(at, n)) : 0;
    };
    h.date = date::year{number(0, 4)} / date::month{static_cast<unsigned>(number(5, 2))} /
             date::day{static_cast<unsigned>(number(8, 2))};
    if (!shape || !h.date.ok()) {
      r.fail("field 'date' is not a calendar date YYYY-MM-DD: '" + d + "'");
    }
  }
  return finish(r, std::move(h));
}

Result<Pass> decode_pass(const json::object& doc) {
  JsonReader r(doc);
  Pass p;
  p.id = r.id("id");
  p.hash = hash_from_hex(r.hex("card_hash", 64));
  p.last4 = r.hex("last4", 4);
  p.holder = r.string("holder");
  p.doors = r.id_list("doors", true);
  if (r.ok() && p.doors.empty()) r.fail("field 'doors' must name at least one door");
  p.valid_from = r.time("valid_from");
  p.valid_until = r.time("valid_until");
  if (r.ok() && p.valid_until <= p.valid_from) {
    r.fail("field 'valid_until' must be after 'valid_from'");
  }
  p.max_uses = static_cast<std::uint32_t>(r.integer("max_uses", 1, 1000000));
  return finish(r, std::move(p));
}

Result<void> validate_account(const json::object& doc) {
  JsonReader r(doc);
  (void)r.id("username");
  std::string hash = r.string("password_hash");
  if (r.ok() && hash.empty()) r.fail("field 'password_hash' must not be empty");
  (void)r.choice("role", {"admin", "operator", "auditor"}, std::nullopt);
  if (!r.ok()) return r.error();
  return {};
}

}  // namespace castellan::access
