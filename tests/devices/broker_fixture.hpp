// Test helper: a real mosquitto on a free loopback port in a fresh temp dir, with a service
// account ("admin", readwrite castellan/#) and helpers to build connected clients. The broker
// is stopped and the directory removed when the fixture goes away.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "devices/broker_accounts.hpp"
#include "devices/broker_process.hpp"
#include "devices/mqtt_client.hpp"

namespace castellan::devices::testing {

inline std::string unique_temp_dir(const std::string& tag) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::temp_directory_path() /
             ("castellan-" + tag + "-" + std::to_string(::getpid()) + "-" +
              std::to_string(counter.fetch_add(1)));
  std::filesystem::remove_all(dir);
  return dir.string();
}

// Collects received messages; waits for them with a generous failure timeout (not a
// performance threshold: a correct run returns as soon as the message is there).
class MessageInbox {
 public:
  struct Message {
    std::string topic;
    std::string payload;
  };
  void push(std::string_view topic, std::string_view payload) {
    {
      std::lock_guard lock(mu_);
      messages_.push_back({std::string(topic), std::string(payload)});
    }
    cv_.notify_all();
  }
  // True once at least `n` messages arrived.
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
  }
  // True once a message with this payload arrived.
  bool wait_for_payload(const std::string& payload,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& m : messages_) {
        if (m.payload == payload) return true;
      }
      return false;
    });
  }
  std::vector<Message> messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  MqttClient::MessageHandler handler() {
    return [this](std::string_view t, std::string_view p, bool) { push(t, p); };
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Message> messages_;
};

class BrokerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = unique_temp_dir("broker");
    broker_ = std::make_unique<BrokerProcess>(BrokerOptions{.dir = dir_});
    // The account files must exist before the broker first reads them.
    std::filesystem::create_directories(dir_);
    auto accounts = BrokerAccounts::open(broker_->password_file(), broker_->acl_file());
    ASSERT_TRUE(accounts.ok()) << accounts.error().message;
    accounts_ = std::make_unique<BrokerAccounts>(std::move(accounts).value());
    auto admin = accounts_->set_service_account("admin");
    ASSERT_TRUE(admin.ok()) << admin.error().message;
    admin_ = *admin;
    auto started = broker_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }

  void TearDown() override {
    clients_.clear();
    broker_.reset();
    std::filesystem::remove_all(dir_);
  }

  MqttOptions options_for(const MqttCredentials& creds) const {
    MqttOptions o;
    o.host = broker_->host();
    o.port = broker_->port();
    o.username = creds.username;
    o.password = creds.password;
    o.reconnect_min = std::chrono::milliseconds(50);
    o.reconnect_max = std::chrono::milliseconds(500);
    return o;
  }

  // A started client (owned by the fixture); `wait` = block until connected.
  MqttClient& client(MqttOptions o, MessageInbox* inbox = nullptr, bool wait = true) {
    clients_.push_back(std::make_unique<MqttClient>(std::move(o)));
    MqttClient& c = *clients_.back();
    if (inbox) c.on_message(inbox->handler());
    auto r = c.start();
    EXPECT_TRUE(r.ok()) << r.error().message;
    if (wait) {
      EXPECT_TRUE(c.wait_connected(std::chrono::seconds(10))) << broker_->log_tail();
    }
    return c;
  }
  // An inbox that outlives every fixture client (a client may deliver until it is stopped).
  MessageInbox& new_inbox() { return *inboxes_.emplace_back(std::make_unique<MessageInbox>()); }
  MqttClient& admin_client(MessageInbox* inbox = nullptr) {
    return client(options_for(admin_), inbox);
  }

  std::string dir_;
  std::unique_ptr<BrokerProcess> broker_;
  std::unique_ptr<BrokerAccounts> accounts_;
  MqttCredentials admin_;
  std::vector<std::unique_ptr<MessageInbox>> inboxes_;  // declared first: destroyed last
  std::vector<std::unique_ptr<MqttClient>> clients_;
};

}  // namespace castellan::devices::testing
