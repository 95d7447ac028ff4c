#include "app/door_history_file.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <cerrno>

#include "core/secrets.hpp"
#include "core/thread_name.hpp"
#include "core/time.hpp"
#include "runtime/thread_task.hpp"

namespace castellan::app {
namespace json = boost::json;
namespace {

json::object door_json(const devices::DoorHistory& h) {
  json::array hours;
  for (const auto& b : h.hours) hours.push_back(json::array{b.hour, b.total, b.denied});
  json::array recent;
  for (const auto& p : h.recent) {
    recent.push_back(json::object{{"ts", format_utc(p.ts)},
                                  {"user", p.user},
                                  {"dir", devices::direction_name(p.dir)},
                                  {"trace_id", p.trace_id}});
  }
  return json::object{
      {"site", h.site}, {"door", h.door}, {"hours", std::move(hours)}, {"recent", recent}};
}

// The members of one door's entry; throws (boost::system::system_error or std::invalid_argument)
// on a wrong shape.
devices::DoorHistory parse_door(const json::value& v) {
  const auto& o = v.as_object();
  devices::DoorHistory h;
  h.site = o.at("site").as_string();
  h.door = o.at("door").as_string();
  for (const auto& b : o.at("hours").as_array()) {
    const auto& a = b.as_array();
    h.hours.push_back(devices::DecisionHour{a.at(0).to_number<std::int64_t>(),
                                            a.at(1).to_number<std::uint32_t>(),
                                            a.at(2).to_number<std::uint32_t>()});
  }
  for (const auto& p : o.at("recent").as_array()) {
    const auto& r = p.as_object();
    auto ts = parse_utc(r.at("ts").as_string());
    if (!ts) throw std::invalid_argument("bad ts: " + ts.error().message);
    const auto dir = r.at("dir").as_string();
    if (dir != "in" && dir != "out") throw std::invalid_argument("bad dir");
    h.recent.push_back(
        devices::Passage{*ts, std::string(r.at("user").as_string()),
                         dir == "out" ? devices::Direction::kOut : devices::Direction::kIn,
                         std::string(r.at("trace_id").as_string())});
  }
  return h;
}

}  // namespace

Result<void> save_door_history(const std::string& path, const devices::DoorStateTracker& tracker,
                               TimePoint now) {
  json::array doors;
  for (const auto& h : tracker.history()) doors.push_back(door_json(h));
  json::object file{{"saved_at", format_utc(now)}, {"doors", std::move(doors)}};
  return write_secret_file(path, json::serialize(file) + "\n");
}

Result<std::size_t> load_door_history(const std::string& path, const devices::DoorDirectory& doors,
                                      devices::DoorStateTracker& tracker) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) return std::size_t{0};
  auto content = read_secret_file(path);
  if (!content) return content.error();
  std::vector<devices::DoorHistory> saved;
  try {
    const json::value file = json::parse(*content);  // kept: the loop reads into it
    for (const auto& d : file.as_object().at("doors").as_array()) {
      saved.push_back(parse_door(d));
    }
  } catch (const std::exception& e) {
    return make_error(Code::ERR_UNAVAILABLE, "door history " + path + " does not parse (" +
                                                 e.what() + "); every door starts without one");
  }
  std::size_t restored = 0;
  for (const auto& h : saved) {
    auto door = doors.find(h.site, h.door);
    if (!door) continue;
    tracker.restore_history(*door, h);
    ++restored;
  }
  return restored;
}

DoorHistorySaver::DoorHistorySaver(std::string path, const devices::DoorStateTracker& tracker,
                                   const Clock& clock, std::chrono::milliseconds interval,
                                   runtime::TaskRegistry* tasks)
    : path_(std::move(path)), tracker_(tracker), clock_(clock) {
  thread_ = std::thread([this, interval, tasks] {
    name_this_thread("door-history");
    const runtime::ThreadTask task(tasks, "door history saver", "devices");
    std::unique_lock lock(mu_);
    while (!stop_) {
      {
        const runtime::WaitMarker idle(task.ref(), "door history: next save",
                                       runtime::WaitKind::kIdle);
        if (cv_.wait_for(lock, interval, [this] { return stop_; })) break;
      }
      lock.unlock();
      {
        const runtime::WaitMarker saving(task.ref(), "door history: write the file");
        save();
      }
      lock.lock();
    }
  });
}

DoorHistorySaver::~DoorHistorySaver() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
  save();  // the decisions since the last save
}

void DoorHistorySaver::save() {
  if (auto saved = save_door_history(path_, tracker_, clock_.now()); !saved) {
    if (!failing_) {
      spdlog::warn("door history not saved (retrying every interval): {}", saved.error().message);
    }
    failing_ = true;
  } else {
    if (failing_) spdlog::info("door history saved again to {}", path_);
    failing_ = false;
  }
}

}  // namespace castellan::app
