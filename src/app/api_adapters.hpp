// Adapters from the API's ports (src/api/ports.hpp) that need the whole service: the device
// service with the broker's accounts, and the runtime. The ports over one module (store,
// engine, journal) live in src/api (store_adapters, engine_verify, journal_events).
// Thin on purpose: each call is translated, not reinterpreted.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "api/ports.hpp"
#include "devices/broker_accounts.hpp"
#include "devices/service.hpp"
#include "journal/journal.hpp"
#include "runtime/faults.hpp"
#include "runtime/health.hpp"
#include "runtime/metrics.hpp"
#include "store/resource_service.hpp"

namespace castellan::app {

// Devices, door state and door commands; lockdown also flips the door's lockdown flag so the
// engine denies with 40309 until release (set before the lockdown command is sent, cleared
// only after the release command was).
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
  Result<int> unlock(std::string_view door, int duration_ms, std::string_view reason,
                     std::string_view actor, std::string_view trace_id) override;
  Result<void> lockdown(std::string_view door, std::string_view actor,
                        std::string_view trace_id) override;
  Result<void> release(std::string_view door, std::string_view actor,
                       std::string_view trace_id) override;
  Result<std::string> door_key(std::string_view door) override;
  Result<std::string> rotate_door_key(std::string_view door, std::string_view actor) override;
  Result<boost::json::object> device_credentials(std::string_view device) override;

 private:
  std::vector<std::string> controller_ids() const;
  // Sends and waits until durable; 50301 when the broker connection refused it.
  Result<devices::CommandReceipt> command(std::string_view door, std::string cmd, int unlock_ms,
                                          std::string_view reason, std::string_view actor,
                                          std::string_view trace_id);

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
      : registry_(registry),
        health_(health),
        faults_(faults),
        metrics_(metrics),
        journal_(journal) {}
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
