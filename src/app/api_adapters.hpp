// Adapters from the API's ports (src/api/ports.hpp) to the real modules: the store's
// ResourceService, the decision engine, the journal, the device service and the runtime.
// Thin on purpose: each call is translated, not reinterpreted.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "access/engine.hpp"
#include "api/accounts.hpp"
#include "api/ports.hpp"
#include "core/clock.hpp"
#include "devices/broker_accounts.hpp"
#include "devices/service.hpp"
#include "journal/journal.hpp"
#include "runtime/faults.hpp"
#include "runtime/health.hpp"
#include "runtime/metrics.hpp"
#include "store/resource_service.hpp"

namespace castellan::app {

// API log-ins in the store's `accounts` collection.
class StoreAccountRepository final : public api::AccountRepository {
 public:
  explicit StoreAccountRepository(store::ResourceService& resources) : resources_(resources) {}
  std::optional<api::Account> find(const std::string& username) override;
  std::vector<api::Account> list(const std::string& after, int limit) override;
  Result<void> create(const api::Account& account) override;
  Result<void> update(const api::Account& account) override;
  Result<void> remove(const std::string& username) override;

 private:
  store::ResourceService& resources_;
};

class ResourceAdapter final : public api::ResourcePort {
 public:
  explicit ResourceAdapter(store::ResourceService& resources) : resources_(resources) {}
  Result<boost::json::object> create(std::string_view collection, const boost::json::object& body,
                                     std::string_view actor) override;
  Result<boost::json::object> get(std::string_view collection, std::string_view id) override;
  Result<Page> list(std::string_view collection, int limit, std::string_view cursor) override;
  Result<boost::json::object> patch(std::string_view collection, std::string_view id,
                                    const boost::json::object& body, std::string_view actor) override;
  Result<void> remove(std::string_view collection, std::string_view id,
                      std::string_view actor) override;
  Result<boost::json::object> issue_pass(const boost::json::object& body,
                                         std::string_view actor) override;

 private:
  store::ResourceService& resources_;
};

// POST /v1/verify: decide, journal (source "api"), answer once durable.
class VerifyAdapter final : public api::VerifyPort {
 public:
  VerifyAdapter(const Clock& clock, access::DecisionEngine& engine, journal::Journal& journal,
                std::string card_secret)
      : clock_(clock), engine_(engine), journal_(journal), card_secret_(std::move(card_secret)) {}
  void verify(const api::VerifyRequest& request,
              std::function<void(Result<api::VerifyOutcome>)> done) override;

 private:
  const Clock& clock_;
  access::DecisionEngine& engine_;
  journal::Journal& journal_;
  std::string card_secret_;
};

class EventsAdapter final : public api::EventsPort {
 public:
  explicit EventsAdapter(journal::Journal& journal) : journal_(journal) {}
  Result<boost::json::object> query(const api::EventQuery& query) override;
  std::unique_ptr<Subscription> subscribe(
      std::function<void(std::string json_line)> on_record) override;
  void record_admin(std::string_view who, const boost::json::object& what,
                    std::string_view trace_id) override;

 private:
  journal::Journal& journal_;
};

// Devices, door state and door commands; lockdown also flips the door's lockdown flag so the
// engine denies with 40309 until release.
class DevicesAdapter final : public api::DevicesPort {
 public:
  DevicesAdapter(devices::DeviceService& devices, store::ResourceService& resources,
                 devices::BrokerAccounts* broker_accounts, std::string broker_pid_file)
      : devices_(devices),
        resources_(resources),
        broker_accounts_(broker_accounts),
        broker_pid_file_(std::move(broker_pid_file)) {}
  boost::json::array list_devices() override;
  std::optional<boost::json::object> device(std::string_view id) override;
  Result<boost::json::object> door_assist(std::string_view door) override;
  Result<void> unlock(std::string_view door, int duration_ms, std::string_view reason,
                      std::string_view trace_id) override;
  Result<void> lockdown(std::string_view door, std::string_view trace_id) override;
  Result<void> release(std::string_view door, std::string_view trace_id) override;
  Result<std::string> door_key(std::string_view door) override;
  Result<boost::json::object> device_credentials(std::string_view device) override;

 private:
  std::vector<std::string> controller_ids() const;
  Result<void> command(std::string_view door, std::string cmd, int unlock_ms,
                       std::string_view reason, std::string_view trace_id);

  devices::DeviceService& devices_;
  store::ResourceService& resources_;
  devices::BrokerAccounts* broker_accounts_;  // null when [mqtt] passwd_file/acl_file are unset
  std::string broker_pid_file_;
  std::mutex credentials_mu_;
};

class RuntimeAdapter final : public api::RuntimePort {
 public:
  RuntimeAdapter(runtime::TaskRegistry& registry, runtime::HealthMonitor& health,
                 runtime::FaultInjector& faults, runtime::MetricsRegistry& metrics,
                 journal::Journal& journal)
      : registry_(registry), health_(health), faults_(faults), metrics_(metrics), journal_(journal) {}
  boost::json::value sli_json() override;
  boost::json::value tasks_json() override;
  Result<void> inject_fault(const boost::json::object& fault) override;
  std::string render_metrics() override;

 private:
  runtime::TaskRegistry& registry_;
  runtime::HealthMonitor& health_;
  runtime::FaultInjector& faults_;
  runtime::MetricsRegistry& metrics_;
  journal::Journal& journal_;
};

}  // namespace castellan::app
