#include <signal.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "app/api_adapters.hpp"
#include "app/journal_metrics.hpp"
#include "core/ids.hpp"
#include "core/log.hpp"
#include "devices/device_view.hpp"
#include "runtime/debug_json.hpp"

namespace castellan::app {
namespace json = boost::json;

namespace {

// The command name of a running process (/proc/PID/comm), empty when there is none.
std::string process_name(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

}  // namespace

// ---- devices ---------------------------------------------------------------------------

std::vector<std::string> DevicesAdapter::controller_ids() const {
  std::vector<std::string> ids;
  auto snapshot = resources_.snapshot();
  for (const auto& [controller, doors] : snapshot->doors_by_controller) ids.push_back(controller);
  return ids;
}

json::array DevicesAdapter::list_devices() {
  return json::parse(devices::device_list_json(devices_.heartbeats(), devices_.telemetry(),
                                               controller_ids()))
      .as_array();
}

std::optional<json::object> DevicesAdapter::device(std::string_view id) {
  auto view =
      devices::device_view_json(devices_.heartbeats(), devices_.telemetry(), id, controller_ids());
  if (!view) return std::nullopt;
  return json::parse(*view).as_object();
}

Result<json::object> DevicesAdapter::door_assist(std::string_view door) {
  auto snapshot = resources_.snapshot();
  if (!snapshot->door_index.contains(door)) {
    return make_error(Code::ERR_DOOR_UNKNOWN, "no such door '" + std::string(door) + "'");
  }
  return json::parse(devices_.door_states().assist_json(door)).as_object();
}

Result<devices::CommandReceipt> DevicesAdapter::command(std::string_view door, std::string cmd,
                                                        int unlock_ms, std::string_view reason,
                                                        std::string_view actor,
                                                        std::string_view trace_id) {
  devices::DoorCommand c{.door = std::string(door),
                         .cmd = std::move(cmd),
                         .unlock_ms = unlock_ms,
                         .actor = std::string(actor),
                         .reason = std::string(reason),
                         .trace_id = std::string(trace_id)};
  auto receipt = devices_.commander().send_and_wait(std::move(c), std::chrono::milliseconds(2000));
  if (!receipt) return receipt.error();
  if (!receipt->published) {
    return make_error(Code::ERR_UNAVAILABLE,
                      "the command was journaled but the broker connection is down; retry");
  }
  return receipt;
}

Result<int> DevicesAdapter::unlock(std::string_view door, int duration_ms, std::string_view reason,
                                   std::string_view actor, std::string_view trace_id) {
  auto receipt = command(door, "unlock", duration_ms, reason, actor, trace_id);
  if (!receipt) return receipt.error();
  return receipt->unlock_ms;
}

Result<void> DevicesAdapter::lockdown(std::string_view door, std::string_view actor,
                                      std::string_view trace_id) {
  // The flag first: from here on the engine denies with 40309, even if the door is offline.
  if (auto r = resources_.set_lockdown(door, true, actor); !r) return r.error();
  if (auto r = command(door, "lockdown", 0, "lockdown", actor, trace_id); !r) return r.error();
  return {};
}

Result<void> DevicesAdapter::release(std::string_view door, std::string_view actor,
                                     std::string_view trace_id) {
  // The command first: the engine keeps denying with 40309 until the door was told.
  if (auto r = command(door, "release", 0, "release", actor, trace_id); !r) return r.error();
  if (auto r = resources_.set_lockdown(door, false, actor); !r) return r.error();
  return {};
}

Result<std::string> DevicesAdapter::door_key(std::string_view door) {
  return resources_.door_key(door);
}

Result<std::string> DevicesAdapter::rotate_door_key(std::string_view door, std::string_view actor) {
  return resources_.rotate_door_key(door, actor);
}

Result<json::object> DevicesAdapter::device_credentials(std::string_view device) {
  if (!is_valid_id(device)) {
    return make_error(Code::ERR_BAD_REQUEST, "device id must match [A-Za-z0-9_.-]{1,64}");
  }
  if (broker_accounts_ == nullptr) {
    return make_error(Code::ERR_UNAVAILABLE,
                      "this server does not manage broker credentials ([mqtt] passwd_file and "
                      "acl_file are not set)");
  }
  // Site and doors: the doors this device controls; a sensor takes the site it reported from,
  // or the only site there is.
  auto snapshot = resources_.snapshot();
  std::string site;
  std::vector<std::string> doors;
  if (auto it = snapshot->doors_by_controller.find(device);
      it != snapshot->doors_by_controller.end()) {
    for (auto index : it->second) {
      const auto& entry = snapshot->doors[index];
      doors.push_back(entry.door.id);
      site = snapshot->sites[entry.site_index].site.id;
    }
  }
  if (site.empty()) {
    if (auto view = this->device(device); view && view->contains("site")) {
      site = std::string(view->at("site").as_string());
    } else if (snapshot->sites.size() == 1) {
      site = snapshot->sites.front().site.id;
    } else {
      return make_error(Code::ERR_NOT_FOUND, "device '" + std::string(device) +
                                                 "' controls no door and has not reported a site");
    }
  }
  std::lock_guard lock(credentials_mu_);
  auto creds = broker_accounts_->set_device_credentials(device, site, doors);
  if (!creds) return creds.error();
  // The device cannot connect until the broker has re-read its files: say so when we cannot
  // make it, so that an operator is not left guessing why a new controller is refused.
  if (broker_pid_file_.empty()) {
    spdlog::warn(
        "credentials of {} written; mqtt.broker_pid_file is not set, so they take "
        "effect at the broker's next reload (e.g. systemctl reload mosquitto)",
        device);
  } else {
    std::ifstream in(broker_pid_file_);
    long pid = 0;
    if (!(in >> pid) || pid <= 1) {
      spdlog::warn(
          "broker pid file {} unreadable: credentials take effect at the broker's next reload",
          broker_pid_file_);
    } else if (const std::string comm = process_name(pid); comm != "mosquitto") {
      // A pid file left by a broker that was killed may name another process since.
      spdlog::warn(
          "broker pid file {} names pid {}, which is not mosquitto ({}); not signalled: "
          "credentials of {} take effect at the broker's next reload",
          broker_pid_file_, pid, comm.empty() ? "no such process" : comm, device);
    } else if (::kill(static_cast<pid_t>(pid), SIGHUP) != 0) {
      spdlog::warn(
          "cannot signal the broker (pid {} from {}) to reload: {}; credentials of {} "
          "take effect at its next reload",
          pid, broker_pid_file_, std::strerror(errno), device);
    }
  }
  return json::object{{"username", creds->username}, {"password", creds->password}};
}

// ---- runtime ---------------------------------------------------------------------------

json::value RuntimeAdapter::sli_json() {
  return runtime::sli_json(health_.latest(), health_.options());
}

json::value RuntimeAdapter::tasks_json() {
  return runtime::tasks_json(registry_);
}

namespace {
Result<std::int64_t> positive_field(const json::object& o, const char* name, std::int64_t max) {
  auto* v = o.if_contains(name);
  if (v == nullptr || !v->is_int64() || v->as_int64() < 1 || v->as_int64() > max) {
    return make_error(
        Code::ERR_BAD_REQUEST,
        std::string("field '") + name + "' must be an integer from 1 to " + std::to_string(max));
  }
  return v->as_int64();
}
}  // namespace

Result<void> RuntimeAdapter::inject_fault(const json::object& fault) {
  auto* kind_value = fault.if_contains("kind");
  if (kind_value == nullptr || !kind_value->is_string()) {
    return make_error(Code::ERR_BAD_REQUEST, "field 'kind' is required");
  }
  const std::string_view kind = kind_value->as_string();
  if (kind == "clear") {
    faults_.clear();
    return {};
  }
  if (kind == "leak_tasks" || kind == "leak_fds") {
    auto count = positive_field(fault, "count", 100000);
    if (!count) return count.error();
    if (kind == "leak_tasks") {
      faults_.leak_tasks(static_cast<int>(*count));
    } else {
      faults_.leak_fds(static_cast<int>(*count));
    }
    return {};
  }
  if (kind == "stall_journal" || kind == "stuck_task") {
    auto ms = positive_field(fault, "ms", 600000);
    if (!ms) return ms.error();
    if (kind == "stall_journal") {
      journal_.stall_for(std::chrono::milliseconds(*ms));
    } else {
      faults_.stuck_task(std::chrono::milliseconds(*ms));
    }
    return {};
  }
  return make_error(Code::ERR_BAD_REQUEST,
                    "unknown fault kind '" + std::string(kind) +
                        "' (leak_tasks, leak_fds, stuck_task, stall_journal, clear)");
}

std::string RuntimeAdapter::render_metrics() {
  return metrics_.render() + journal_metrics_text(journal_.stats());
}

}  // namespace castellan::app
