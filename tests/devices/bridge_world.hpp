// Test world of the device side: a small access snapshot (site hq, doors with every flavour,
// cards for every decision code), a real journal in a temp dir, a real DecisionEngine, and a
// DeviceService. Used by the bridge_* tests; the MQTT parts add a real broker on top.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "access/codec.hpp"
#include "access/engine.hpp"
#include "access/snapshot.hpp"
#include "broker_fixture.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/time.hpp"
#include "devices/adapters/adapters.hpp"
#include "devices/outgoing.hpp"
#include "devices/service.hpp"
#include "journal/journal.hpp"
#include "runtime/metrics.hpp"

namespace castellan::devices::testing {

inline const std::string kCardSecret = "card-secret-for-tests-0123456789abcdef";
// Card uids by the code a swipe with them gets at door d1.
inline const std::string kUidOk = "04a1b2c3";
inline const std::string kUidExpired = "04a1b2c4";
inline const std::string kUidNotYet = "04a1b2c5";
inline const std::string kUidRevoked = "04a1b2c6";
inline const std::string kUidUnknown = "0badc0de";
inline const std::string kUidSuspended = "04a1b2c7";
inline const std::string kUidNoAccess = "04a1b2c8";  // user without a group for d1
inline const std::string kUidSchedule = "04a1b2c9";  // group with an empty schedule

inline std::string door_key_hex(const std::string& door) {
  return to_hex(sha256("door-key-" + door));
}
inline std::string door_key(const std::string& door) {
  return *from_hex(door_key_hex(door));
}

inline access::Dataset small_dataset(TimePoint now) {
  using namespace std::chrono_literals;
  access::Dataset d;
  d.sites["hq"] = access::Site{"hq", "HQ", "UTC", 12, false};
  auto door = [&](std::string id, access::FailMode mode, bool lockdown) {
    access::Door x;
    x.id = id;
    x.site = "hq";
    x.name = id;
    x.controller = "ctl-" + id;
    x.unlock_ms = 5000;
    x.held_open_s = 30;
    x.fail_mode = mode;
    x.lockdown = lockdown;
    x.key_hex = door_key_hex(id);
    d.doors[id] = x;
  };
  door("d1", access::FailMode::secure, false);
  door("fire", access::FailMode::safe, false);
  d.doors["fire"].held_open_s = 1;  // short, so a real-time test can hold it open
  door("locked-down", access::FailMode::secure, true);
  door("gate", access::FailMode::secure, false);
  d.doors["gate"].apb = true;  // anti-passback turnstile
  d.users["u1"] = access::User{"u1", "Ada", access::UserStatus::active};
  d.users["u2"] = access::User{"u2", "Bob", access::UserStatus::suspended};
  d.users["u3"] = access::User{"u3", "Cy", access::UserStatus::active};
  d.users["u4"] = access::User{"u4", "Di", access::UserStatus::active};
  auto card = [&](std::string id, const std::string& uid, std::string user,
                  access::CardStatus status, std::optional<TimePoint> from,
                  std::optional<TimePoint> until) {
    access::Card c;
    c.id = id;
    c.user = std::move(user);
    c.hash = access::card_hash_of(kCardSecret, uid);
    c.last4 = uid.substr(uid.size() - 4);
    c.status = status;
    c.valid_from = from;
    c.valid_until = until;
    d.cards[id] = c;
  };
  card("c-ok", kUidOk, "u1", access::CardStatus::active, std::nullopt, std::nullopt);
  card("c-exp", kUidExpired, "u1", access::CardStatus::active, std::nullopt, now - 24h);
  card("c-notyet", kUidNotYet, "u1", access::CardStatus::active, now + 24h, std::nullopt);
  card("c-rev", kUidRevoked, "u1", access::CardStatus::revoked, std::nullopt, std::nullopt);
  card("c-susp", kUidSuspended, "u2", access::CardStatus::active, std::nullopt, std::nullopt);
  card("c-noacc", kUidNoAccess, "u3", access::CardStatus::active, std::nullopt, std::nullopt);
  card("c-sched", kUidSchedule, "u4", access::CardStatus::active, std::nullopt, std::nullopt);
  d.schedules["never"] = access::Schedule{"never", {}, {}};
  d.groups["staff"] =
      access::Group{"staff", {"d1", "fire", "locked-down", "gate"}, std::nullopt, {"u1", "u2"}};
  d.groups["night"] = access::Group{"night", {"d1"}, std::string("never"), {"u4"}};
  return d;
}

// A swipe as a controller sends it; `ts` defaults to the real time now (a swipe older than
// decision.max_swipe_age_ms is answered 50401 undecided).
inline std::string swipe_json(const std::string& req, const std::string& card,
                              const std::string& dir = "in",
                              TimePoint ts = SystemClock::instance().now()) {
  return R"({"req":")" + req + R"(","card":")" + card + R"(","dir":")" + dir + R"(","ts":")" +
         format_utc(ts) + R"("})";
}

// Journal + engine + door directory + metrics for one test.
struct AccessWorld {
  explicit AccessWorld(const Clock& clock) {
    holder.publish(access::build_snapshot(small_dataset(clock.now()), ledger, 1));
  }
  access::PassUseLedger ledger;
  access::SnapshotHolder holder;
  access::DecisionEngine engine{holder};
  SnapshotDoorDirectory doors{holder};
  runtime::MetricsRegistry metrics;
};

inline std::unique_ptr<journal::Journal> open_journal(const std::string& dir, Clock& clock) {
  journal::JournalOptions o;
  o.dir = dir;
  auto j = journal::Journal::open(o, clock);
  EXPECT_TRUE(j.ok()) << j.error().message;
  return j.ok() ? std::move(j).value() : nullptr;
}

}  // namespace castellan::devices::testing
