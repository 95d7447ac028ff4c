// `castellan sim`: the device simulator of contract §1 (src/devices/sim/), driven from the CLI.
// Runs until --duration passes or SIGINT/SIGTERM, then waits for outstanding decisions and
// prints the summary. Exit code: 0; 1 with --fail-on-loss when any swipe went unanswered, was
// answered with the server's failure (5xxxx, 42901) or a decision was rejected; 2 when it could not
// start (bad option, file, or broker).
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <boost/json.hpp>

#include "app/commands.hpp"
#include "core/clock.hpp"
#include "devices/mqtt_client.hpp"
#include "devices/sim/simulator.hpp"

namespace castellan::app {
namespace {

using devices::sim::SimOptions;

volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) {
  g_stop_signal = sig;
}

struct SimCliArgs {
  std::string broker;
  std::string demo_json;
  std::string password_file;
  std::string credentials_file;
  std::string keys_file;
  std::string valid_cards_file;
  std::string expired_cards_file;
  std::string mix;
  std::string door_ids, controller_ids, sensor_ids;
  double duration_s = 0;
  double progress_s = 0;
  bool progress = false;
  bool fail_on_loss = false;
  int heartbeat_ms = 3000, telemetry_ms = 5000, answer_timeout_ms = 5000;
  SimOptions options;
};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream s(text);
  for (std::string item; std::getline(s, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

Result<std::string> read_first_line(const std::string& path) {
  std::ifstream in(path);
  if (!in) return make_error(Code::ERR_BAD_REQUEST, "cannot read " + path);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// demo.json gives the broker address and the mqtt_admin account (contract §1).
Result<void> apply_demo_json(const std::string& path, SimCliArgs& a) {
  std::ifstream in(path);
  if (!in) return make_error(Code::ERR_BAD_REQUEST, "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  std::error_code ec;
  auto v = boost::json::parse(text.str(), ec);
  const auto* o = ec ? nullptr : v.if_object();
  const auto* mqtt = o ? o->if_contains("mqtt") : nullptr;
  const auto* admin = o ? o->if_contains("mqtt_admin") : nullptr;
  if (!mqtt || !mqtt->is_string() || !admin || !admin->is_object()) {
    return make_error(Code::ERR_BAD_REQUEST, path + ": expected \"mqtt\" and \"mqtt_admin\"");
  }
  if (a.broker.empty()) a.broker = std::string(mqtt->as_string());
  const auto& adm = admin->as_object();
  if (a.options.username.empty() && adm.contains("username") && adm.at("username").is_string()) {
    a.options.username = std::string(adm.at("username").as_string());
    if (adm.contains("password") && adm.at("password").is_string()) {
      a.options.password = std::string(adm.at("password").as_string());
    }
  }
  return {};
}

Result<void> resolve(SimCliArgs& a) {
  SimOptions& o = a.options;
  if (!a.demo_json.empty()) {
    if (auto r = apply_demo_json(a.demo_json, a); !r) return r;
  }
  if (a.broker.empty())
    return make_error(Code::ERR_BAD_REQUEST, "--broker HOST:PORT (or --demo-json) is required");
  auto hp = devices::parse_host_port(a.broker);
  if (!hp) return hp.error();
  o.host = hp->first;
  o.port = hp->second;
  if (!a.password_file.empty()) {
    auto p = read_first_line(a.password_file);
    if (!p) return p.error();
    o.password = *p;
  }
  if (!a.credentials_file.empty()) {
    auto c = devices::sim::load_device_credentials(a.credentials_file);
    if (!c) return c.error();
    o.device_credentials = *c;
  }
  if (!a.keys_file.empty()) {
    auto k = devices::sim::load_door_keys(a.keys_file);
    if (!k) return k.error();
    o.door_keys = *k;
  }
  if (!a.valid_cards_file.empty()) {
    auto c = devices::sim::load_card_list(a.valid_cards_file);
    if (!c) return c.error();
    o.valid_cards = *c;
  }
  if (!a.expired_cards_file.empty()) {
    auto c = devices::sim::load_card_list(a.expired_cards_file);
    if (!c) return c.error();
    o.expired_cards = *c;
  }
  if (!a.mix.empty()) {
    auto m = devices::sim::parse_swipe_mix(a.mix);
    if (!m) return m.error();
    o.mix = *m;
  }
  o.door_ids = split_list(a.door_ids);
  o.controller_ids = split_list(a.controller_ids);
  o.sensor_ids = split_list(a.sensor_ids);
  if (!o.controller_ids.empty() && o.controller_ids.size() != o.door_ids.size()) {
    return make_error(Code::ERR_BAD_REQUEST, "--controller-ids needs one id per --door-ids entry");
  }
  o.duration = std::chrono::milliseconds(static_cast<std::int64_t>(a.duration_s * 1000));
  o.heartbeat_interval = std::chrono::milliseconds(a.heartbeat_ms);
  o.telemetry_interval = std::chrono::milliseconds(a.telemetry_ms);
  o.answer_timeout = std::chrono::milliseconds(a.answer_timeout_ms);
  if ((o.valid_cards.empty() && o.mix.valid > 0) ||
      (o.expired_cards.empty() && o.mix.expired > 0)) {
    std::fprintf(stderr,
                 "castellan sim: no --valid-cards/--expired-cards: those swipe kinds are left out "
                 "of the mix\n");
  }
  if (o.door_keys.empty()) {
    std::fprintf(stderr,
                 "castellan sim: no --keys file: decisions are counted but their signatures are "
                 "not verified\n");
  }
  return {};
}

int run_sim(SimCliArgs& a) {
  if (auto r = resolve(a); !r) {
    std::fprintf(stderr, "castellan sim: %s\n", r.error().message.c_str());
    return 2;
  }
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  // A parent that blocks these signals (to sigwait for them) passes the mask on through exec.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  const Clock& clock = SystemClock::instance();
  devices::sim::Simulator sim(a.options, clock);
  if (auto r = sim.start(); !r) {
    std::fprintf(stderr, "castellan sim: %s\n", r.error().message.c_str());
    return 2;
  }
  std::printf("castellan sim: %zu doors, %zu sensors, %.0f swipes/s on %s:%d (site %s)\n",
              sim.doors().size(), sim.sensors().size(), a.options.rate, a.options.host.c_str(),
              a.options.port, a.options.site.c_str());
  std::fflush(stdout);
  const auto begin = clock.monotonic();
  const auto progress_every = std::chrono::milliseconds(
      static_cast<std::int64_t>((a.progress_s > 0 ? a.progress_s : 5.0) * 1000));
  auto next_progress = begin + progress_every;
  while (g_stop_signal == 0) {
    const auto now = clock.monotonic();
    if (a.options.duration.count() > 0 && now - begin >= a.options.duration && !sim.swiping())
      break;
    if ((a.progress || a.progress_s > 0) && now >= next_progress) {
      std::printf("%s\n", devices::sim::format_progress(sim.report()).c_str());
      std::fflush(stdout);
      next_progress += progress_every;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  sim.stop();
  const auto report = sim.report();
  std::printf("%s", devices::sim::format_summary(report).c_str());
  std::fflush(stdout);
  const bool lost = report.unanswered > 0 || report.refused() > 0 ||
                    report.rejected_signature + report.rejected_stale > 0;
  return a.fail_on_loss && lost ? 1 : 0;
}

}  // namespace

void register_sim_command(CLI::App& app, CommandAction& action) {
  auto* cmd = app.add_subcommand("sim", "Device simulator: door controllers and sensors over MQTT");
  auto a = std::make_shared<SimCliArgs>();
  SimOptions& o = a->options;
  cmd->add_option("--broker", a->broker, "Broker address HOST:PORT");
  cmd->add_option("--demo-json", a->demo_json,
                  "Take broker address and mqtt_admin account from demo.json");
  cmd->add_option("--site", o.site, "Site id")->capture_default_str();
  // Every number has its range: a count of 0 connections, say, would divide by zero, and an
  // interval of 0 ms would flood the broker in a busy loop.
  cmd->add_option("--doors", o.doors, "Number of door controllers")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--sensors", o.sensors, "Number of sensors")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--rate", o.rate, "Swipes per second over all doors")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  cmd->add_option("--duration", a->duration_s, "Seconds to run (0: until SIGINT/SIGTERM)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--progress", a->progress, "Print a progress line every 5 s");
  cmd->add_option("--progress-interval", a->progress_s, "Seconds between progress lines")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--mix", a->mix,
                  "Swipe mix weights, e.g. valid=70,unknown=10,expired=10,malformed=10");
  cmd->add_option("--valid-cards", a->valid_cards_file,
                  "File of valid card UIDs (JSON array or one per line)");
  cmd->add_option("--expired-cards", a->expired_cards_file, "File of expired card UIDs");
  cmd->add_option("--keys", a->keys_file, "JSON {door: hex key} to verify decision signatures");
  cmd->add_option("--username", o.username, "MQTT user name for every device");
  cmd->add_option("--password-file", a->password_file, "File holding that user's MQTT password");
  cmd->add_option("--credentials", a->credentials_file,
                  "JSON {device: {username, password}} per device");
  cmd->add_option("--door-ids", a->door_ids, "Comma-separated door ids (default d1..dN)");
  cmd->add_option("--controller-ids", a->controller_ids,
                  "Comma-separated controller ids, one per door");
  cmd->add_option("--sensor-ids", a->sensor_ids,
                  "Comma-separated sensor ids (default sensor-1..M)");
  cmd->add_option("--heartbeat-ms", a->heartbeat_ms, "Heartbeat interval")
      ->check(CLI::Range(10, 86'400'000))
      ->capture_default_str();
  cmd->add_option("--telemetry-ms", a->telemetry_ms, "Telemetry interval")
      ->check(CLI::Range(10, 86'400'000))
      ->capture_default_str();
  cmd->add_option("--answer-timeout-ms", a->answer_timeout_ms,
                  "A swipe not answered by then is unanswered")
      ->check(CLI::Range(1, 3'600'000))
      ->capture_default_str();
  cmd->add_option("--forced-open-per-min", o.forced_open_per_door_per_min,
                  "Forced openings per door per minute")
      ->check(CLI::Range(0.0, 60'000.0))
      ->capture_default_str();
  cmd->add_option("--held-open-ratio", o.held_open_ratio, "Share of grants held open too long")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--max-clients", o.max_clients, "More devices than this share connections")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  cmd->add_flag("--fail-on-loss", a->fail_on_loss,
                "Exit 1 if any swipe went unanswered, was refused by the server (5xxxx, 42901) "
                "or its decision was rejected");
  cmd->callback([&action, a] { action = [a] { return run_sim(*a); }; });
}

}  // namespace castellan::app
