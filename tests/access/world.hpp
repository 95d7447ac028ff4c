// Test fixture: a small typed Dataset (site hq in Europe/Berlin, doors, users, cards, groups),
// published into a SnapshotHolder, and a DecisionEngine over it.
#pragma once

#include <string>

#include "access/codec.hpp"
#include "access/engine.hpp"
#include "access/snapshot.hpp"
#include "core/time.hpp"

namespace castellan::access::testing {

inline TimePoint at(std::string_view utc) {
  return parse_utc(utc).value();
}

struct World {
  std::string secret = "test-card-secret";
  Dataset data;
  PassUseLedger ledger;
  SnapshotHolder holder;
  DecisionEngine engine{holder};
  std::uint64_t version = 0;

  World() {
    data.sites["hq"] = Site{"hq", "HQ", "Europe/Berlin", 12, false};
    data.sites["lab"] = Site{"lab", "Lab", "UTC", 12, false};
    door("d1", "hq");
    door("d2", "hq");
    door("apb", "hq").apb = true;
    door("apb2", "hq").apb = true;
    door("safe", "hq").fail_mode = FailMode::safe;
    door("x1", "lab");
    data.schedules["office"] = Schedule{"office", {TimeWindow{0b0111110, 8 * 60, 18 * 60}}, {}};
    data.groups["staff"] =
        Group{"staff", {"d1", "apb", "apb2", "safe", "x1"}, std::nullopt, {"u1"}};
    data.groups["office"] = Group{"office", {"d2"}, "office", {"u1"}};
    user("u1");
    card("c1", "u1", "04A1B2C3");
    publish();
  }

  Door& door(const std::string& id, const std::string& site) {
    Door d;
    d.id = id;
    d.site = site;
    d.name = id;
    d.controller = "ctl-" + id;
    d.unlock_ms = 4000;
    d.key_hex = std::string(64, 'a');
    return data.doors[id] = d;
  }
  User& user(const std::string& id, UserStatus status = UserStatus::active) {
    return data.users[id] = User{id, id, status};
  }
  Card& card(const std::string& id, const std::string& user, const std::string& uid) {
    Card c;
    c.id = id;
    c.user = user;
    c.hash = hash(uid);
    c.last4 = uid.substr(uid.size() - 4);
    return data.cards[id] = c;
  }
  Pass& pass(const std::string& id, const std::string& uid, std::vector<std::string> doors,
             std::uint32_t max_uses, TimePoint from = at("2020-01-01T00:00:00Z"),
             TimePoint until = at("2030-01-01T00:00:00Z")) {
    Pass p;
    p.id = id;
    p.hash = hash(uid);
    p.holder = "Visitor";
    p.doors = std::move(doors);
    p.valid_from = from;
    p.valid_until = until;
    p.max_uses = max_uses;
    return data.passes[id] = p;
  }
  CardHash hash(const std::string& uid) const { return card_hash_from_uid(secret, uid).value(); }
  void publish() { holder.publish(build_snapshot(data, ledger, ++version)); }

  DecisionResult swipe(std::string_view door, const std::string& uid, TimePoint now,
                       Direction dir = Direction::in, std::string_view site = "hq") {
    return engine.decide(DecisionRequest{site, door, hash(uid), dir, now});
  }
};

// A Tuesday, 10:00 in Berlin (CET = UTC+1).
inline const TimePoint kWorkday = at("2026-11-24T09:00:00Z");

}  // namespace castellan::access::testing
