// Fakes of the device ports for unit tests of one class.
#pragma once

#include <boost/json.hpp>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "devices/ports.hpp"

namespace castellan::devices::testing {

// Acknowledges every record at once (or fails all of them), keeping a copy.
class RecordingJournal final : public JournalSink {
 public:
  void append(journal::JournalRecord record, Callback on_durable) override {
    std::unique_lock lock(mu_);
    if (fail_) {
      lock.unlock();
      on_durable(make_error(Code::ERR_UNAVAILABLE, "disk full"));
      return;
    }
    record.seq = records_.size() + 1;
    records_.push_back(record);
    if (hold_) {
      held_.emplace_back(record, std::move(on_durable));
      return;
    }
    lock.unlock();
    on_durable(record);
  }
  std::vector<journal::JournalRecord> records() const {
    std::lock_guard lock(mu_);
    return records_;
  }
  // Records of one kind whose extra has member `key` == `value` (any when key is empty).
  std::size_t count(journal::RecordKind kind, const std::string& key = "",
                    const std::string& value = "") const {
    std::size_t n = 0;
    for (const auto& r : records()) {
      if (r.kind != kind) continue;
      if (!key.empty()) {
        if (r.extra.empty()) continue;
        auto extra = boost::json::parse(r.extra).as_object();
        auto* v = extra.if_contains(key);
        if (!v || !v->is_string() || v->as_string() != value) continue;
      }
      ++n;
    }
    return n;
  }
  void set_fail(bool fail) {
    std::lock_guard lock(mu_);
    fail_ = fail;
  }
  // Holds durable callbacks until release() (a stalled disk).
  void set_hold(bool hold) {
    std::lock_guard lock(mu_);
    hold_ = hold;
  }
  void release() {
    std::vector<std::pair<journal::JournalRecord, Callback>> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (auto& [r, cb] : held) cb(r);
  }

 private:
  mutable std::mutex mu_;
  bool fail_ = false;
  bool hold_ = false;
  std::vector<journal::JournalRecord> records_;
  std::vector<std::pair<journal::JournalRecord, Callback>> held_;
};

class RecordingPublisher final : public Publisher {
 public:
  struct Message {
    std::string topic, payload;
  };
  Result<void> publish(std::string_view topic, std::string_view payload) override {
    std::function<void()> hook;
    bool down = false;
    {
      std::lock_guard lock(mu_);
      down = down_;
      if (!down) messages_.push_back({std::string(topic), std::string(payload)});
      hook = down ? on_refused_ : on_publish_;
    }
    if (hook) hook();  // e.g. a controller reacting before publish() has even returned
    if (down) return make_error(Code::ERR_UNAVAILABLE, "not connected");
    return {};
  }
  void on_publish(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    on_publish_ = std::move(hook);
  }
  // Runs when a publish is refused (while down), before publish() returns its error.
  void on_refused(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    on_refused_ = std::move(hook);
  }
  std::vector<Message> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  void set_down(bool down) {
    std::lock_guard lock(mu_);
    down_ = down;
  }

 private:
  mutable std::mutex mu_;
  bool down_ = false;
  std::vector<Message> messages_;
  std::function<void()> on_publish_;
  std::function<void()> on_refused_;
};

class FixedDoors final : public DoorDirectory {
 public:
  std::vector<DoorInfo> doors;
  std::optional<DoorInfo> find(std::string_view site, std::string_view door) const override {
    auto d = find_by_id(door);
    if (d && d->site == site) return d;
    return std::nullopt;
  }
  std::optional<DoorInfo> find_by_id(std::string_view door) const override {
    for (const auto& d : doors) {
      if (d.id == door) return d;
    }
    return std::nullopt;
  }
};

}  // namespace castellan::devices::testing
