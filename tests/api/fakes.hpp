// In-memory stand-ins for the API's ports, for tests of the API layer itself (routing, auth,
// errors, transport). They record what the API asked of them.
#pragma once

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "api/ports.hpp"

namespace castellan::api::testing {
namespace json = boost::json;

class FakeResources final : public ResourcePort {
 public:
  Result<void> forget_change(std::string_view change_id) override {
    std::this_thread::sleep_for(get_delay);  // the store's lock, held up as get() is
    std::lock_guard lock(mu);
    forgotten.emplace_back(change_id);
    return {};
  }
  std::vector<std::string> forgotten;  // change ids, in order
  Result<json::object> create(std::string_view coll, const json::object& body,
                              std::string_view) override {
    std::lock_guard lock(mu);
    const auto* id = body.if_contains("id");
    if (!id || !id->is_string())
      return make_error(Code::ERR_BAD_REQUEST, "Field 'id' is required.");
    auto& c = data[std::string(coll)];
    if (c.count(std::string(id->get_string())))
      return make_error(Code::ERR_CONFLICT, "The id exists.");
    c[std::string(id->get_string())] = body;
    return body;
  }
  Result<json::object> get(std::string_view coll, std::string_view id) override {
    std::this_thread::sleep_for(get_delay);  // e.g. a store held up by a stalled disk
    ++gets_done;
    std::lock_guard lock(mu);
    auto& c = data[std::string(coll)];
    auto it = c.find(std::string(id));
    if (it == c.end()) return make_error(Code::ERR_NOT_FOUND, "No such resource.");
    return it->second;
  }
  Result<Page> list(std::string_view coll, int limit, std::string_view) override {
    std::lock_guard lock(mu);
    Page p;
    for (auto& [k, v] : data[std::string(coll)]) {
      if (static_cast<int>(p.items.size()) < limit) p.items.push_back(v);
    }
    return p;
  }
  Result<json::object> patch(std::string_view coll, std::string_view id, const json::object& body,
                             std::string_view) override {
    std::lock_guard lock(mu);
    auto& c = data[std::string(coll)];
    auto it = c.find(std::string(id));
    if (it == c.end()) return make_error(Code::ERR_NOT_FOUND, "No such resource.");
    for (const auto& kv : body) it->second[kv.key()] = kv.value();
    return it->second;
  }
  Result<void> remove(std::string_view coll, std::string_view id, std::string_view) override {
    std::lock_guard lock(mu);
    if (data[std::string(coll)].erase(std::string(id)) == 0) {
      return make_error(Code::ERR_NOT_FOUND, "No such resource.");
    }
    return {};
  }
  Result<json::object> issue_pass(const json::object&, std::string_view) override {
    return json::object{{"id", "p1"}, {"card_hash", "ab"}, {"last4", "c3d4"}, {"uses_left", 3}};
  }
  std::mutex mu;
  std::map<std::string, std::map<std::string, json::object>> data;
  std::chrono::milliseconds get_delay{0};
  std::atomic<int> gets_done{0};
};

class FakeVerify final : public VerifyPort {
 public:
  void verify(const VerifyRequest& r, std::function<void(Result<VerifyOutcome>)> done) override {
    {
      std::lock_guard lock(mu);
      requests.push_back(r);
    }
    const bool known = r.card == "04A1B2C3" || r.card == "04a1b2c3";
    done(VerifyOutcome{known, known ? Code::OK : Code::ERR_CARD_UNKNOWN, 42});
  }
  std::mutex mu;
  std::vector<VerifyRequest> requests;
};

class FakeEvents final : public EventsPort {
 public:
  Result<EventLines> query(const EventQuery& q) override {
    last_query = q;
    return EventLines{};
  }
  Result<EventLines> after(std::uint64_t seq, std::size_t max) override {
    std::lock_guard lock(mu);
    after_calls.emplace_back(seq, max);
    if (after_error) return *after_error;
    return missed;
  }
  struct Sub : Subscription {
    FakeEvents* owner;
    std::uint64_t id;
    ~Sub() override {
      std::lock_guard lock(owner->mu);
      owner->subs.erase(id);
    }
  };
  std::unique_ptr<Subscription> subscribe(std::function<void(std::string)> cb) override {
    std::lock_guard lock(mu);
    auto s = std::make_unique<Sub>();
    s->owner = this;
    s->id = next++;
    subs[s->id] = std::move(cb);
    return s;
  }
  Result<void> record_admin(std::string_view who, const json::object& what,
                            std::string_view) override {
    if (admin_fails) return make_error(Code::ERR_UNAVAILABLE, "its journal record failed");
    std::lock_guard lock(mu);
    admin.push_back(json::object{{"who", who}, {"what", what}});
    return {};
  }
  bool can_record() const override { return recording.load(); }
  void publish(const std::string& line) {
    std::lock_guard lock(mu);
    for (auto& [id, cb] : subs) cb(line);
  }
  std::size_t subscribers() {
    std::lock_guard lock(mu);
    return subs.size();
  }
  std::mutex mu;
  std::map<std::uint64_t, std::function<void(std::string)>> subs;
  std::uint64_t next = 1;
  std::vector<json::object> admin;
  std::atomic<bool> recording{true};     // can_record()
  std::atomic<bool> admin_fails{false};  // record_admin() fails after can_record() said yes
  EventQuery last_query;
  EventLines missed;                 // what after() answers
  std::optional<Error> after_error;  // or this
  std::vector<std::pair<std::uint64_t, std::size_t>> after_calls;
};

// Doors: "d1" safe, "d2" beam blocked; anything else is unknown.
class FakeDevices final : public DevicesPort {
 public:
  json::array list_devices() override {
    return json::array{json::object{{"id", "ctl-1"}, {"status", "online"}}};
  }
  std::optional<json::object> device(std::string_view id) override {
    if (id != "ctl-1") return std::nullopt;
    return json::object{{"id", "ctl-1"}, {"status", "online"}};
  }
  Result<json::object> door_assist(std::string_view door) override {
    if (door == "d1")
      return json::object{{"beam", "clear"}, {"force_unlock_allowed", true}, {"reason", ""}};
    if (door == "d2") {
      return json::object{
          {"beam", "blocked"}, {"force_unlock_allowed", false}, {"reason", "the beam is blocked"}};
    }
    return make_error(Code::ERR_DOOR_UNKNOWN, "No door '" + std::string(door) + "'.");
  }
  // Every door's unlock_ms is 4000.
  Result<int> unlock(std::string_view door, int duration_ms, std::string_view,
                     std::string_view actor, std::string_view) override {
    std::this_thread::sleep_for(unlock_delay);  // e.g. waiting for a stalled journal
    std::lock_guard lock(mu);
    unlocked.emplace_back(door);
    actors.emplace_back(actor);
    return duration_ms > 0 ? duration_ms : 4000;
  }
  Result<void> lockdown(std::string_view door, std::string_view actor, std::string_view) override {
    return remember(door, actor);
  }
  Result<void> release(std::string_view door, std::string_view actor, std::string_view) override {
    return remember(door, actor);
  }
  Result<std::string> door_key(std::string_view door) override {
    if (auto k = known(door); !k) return k.error();
    return std::string("00ff");
  }
  Result<std::string> rotate_door_key(std::string_view door, std::string_view actor) override {
    if (auto k = known(door); !k) return k.error();
    std::lock_guard lock(mu);
    actors.emplace_back(actor);
    return std::string("ff00");
  }
  Result<json::object> device_credentials(std::string_view device) override {
    return json::object{{"username", device}, {"password", "secret"}};
  }
  Result<void> remember(std::string_view door, std::string_view actor) {
    if (auto k = known(door); !k) return k;
    std::lock_guard lock(mu);
    actors.emplace_back(actor);
    if (broker_down) {
      return make_error(Code::ERR_UNAVAILABLE,
                        "the command was journaled but the broker connection is down; retry");
    }
    return {};
  }
  Result<void> known(std::string_view door) {
    if (door == "d1" || door == "d2") return {};
    return make_error(Code::ERR_DOOR_UNKNOWN, "No door '" + std::string(door) + "'.");
  }
  std::chrono::milliseconds unlock_delay{0};
  bool broker_down = false;  // lockdown and release fail with 50301
  std::mutex mu;
  std::vector<std::string> unlocked;
  std::vector<std::string> actors;  // who asked for each unlock, lockdown and release
};

class FakeRuntime final : public RuntimePort {
 public:
  json::value sli_json() override { return json::object{{"tasks_active", 1}}; }
  json::value tasks_json() override { return json::object{{"tasks", json::array{}}}; }
  Result<void> inject_fault(const json::object& f) override {
    faults.push_back(f);
    return {};
  }
  std::string render_metrics() override {
    return "# HELP castellan_test_up A test gauge.\n# TYPE castellan_test_up "
           "gauge\ncastellan_test_up 1\n";
  }
  std::vector<json::object> faults;
};

}  // namespace castellan::api::testing
