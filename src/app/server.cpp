// Wiring of `castellan server`: every module started in dependency order, stopped in reverse.
//
//   store + snapshot + engine -> journal -> anti-passback replay, pass use recovery -> pass use
//   flusher -> runtime (pool, registry, health) -> devices (MQTT) -> API (HTTPS + ops)
//   ... SIGINT/SIGTERM ...        API -> MQTT -> task groups -> pool
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "access/engine.hpp"
#include "api/api_service.hpp"
#include "api/engine_verify.hpp"
#include "api/https_server.hpp"
#include "api/journal_events.hpp"
#include "api/store_adapters.hpp"
#include "app/api_adapters.hpp"
#include "app/commands.hpp"
#include "app/data_dir.hpp"
#include "app/door_alarm_replay.hpp"
#include "app/door_history_file.hpp"
#include "app/leak_record.hpp"
#include "app/pass_use_replay.hpp"
#include "app/passback_replay.hpp"
#include "app/stop_signals.hpp"
#include "app/swipe_answer_replay.hpp"
#include "app/unrecorded_changes.hpp"
#include "core/clock.hpp"
#include "core/config.hpp"
#include "core/log.hpp"
#include "core/secrets.hpp"
#include "devices/adapters/adapters.hpp"
#include "devices/journal_records.hpp"
#include "runtime/io_pool.hpp"
#include "runtime/task_group.hpp"
#include "store/pass_use_flusher.hpp"
#include "store/sqlite_store.hpp"
#include "store/store_probe.hpp"

namespace castellan::app {
namespace {

int fail(const std::string& message) {
  spdlog::critical("{}", message);
  std::fprintf(stderr, "castellan server: %s\n", message.c_str());
  return 1;
}

// The first line of mqtt.password_file, a secret like the others: mode 0600 or refused.
Result<std::string> read_password_file(const std::string& path) {
  if (path.empty()) return std::string();
  auto content = read_secret_file(path);
  if (!content)
    return make_error(Code::ERR_UNAVAILABLE, "mqtt.password_file: " + content.error().message);
  return content->substr(0, content->find_first_of("\r\n"));
}

// Pass uses journaled but not saved before the last stop (app/pass_use_replay.hpp). On failure
// the counts saved in the store still hold; only uses of the last moments before a crash could
// be missing.
void recover_pass_uses(const journal::Journal& journal, store::ResourceService& resources,
                       access::PassUseLedger& ledger) {
  auto saved_at = resources.pass_uses_saved_at();
  if (!saved_at) {
    spdlog::error("pass uses not read back from the journal: {}", saved_at.error().message);
    return;
  }
  auto recovered = replay_pass_uses(journal, *resources.snapshot(), ledger, *saved_at);
  if (!recovered) {
    spdlog::error("pass uses not read back from the journal: {}", recovered.error().message);
  } else if (recovered->passes_raised > 0) {
    spdlog::warn("pass uses: {} use(s) of {} pass(es) were journaled but not saved; recovered",
                 recovered->uses_recovered, recovered->passes_raised);
  }
}

}  // namespace

int run_server(const Config& config) {
  // Blocked before any thread starts, so every thread inherits the mask and only sigwait sees them.
  const sigset_t stop_signals = block_stop_signals();
  // SIGHUP (a daemon's "reload", a closed terminal) would end the process at once, without the
  // drain below: it is received with the stop signals, logged, and otherwise ignored.
  sigset_t waited = stop_signals;
  sigaddset(&waited, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &waited, nullptr);
  // A write past RLIMIT_FSIZE (systemd LimitFSIZE=, ulimit -f) must fail with EFBIG, which the
  // journal reports as a failed append (50301, not ready), instead of killing the process.
  ::signal(SIGXFSZ, SIG_IGN);
  init_logging(config.log.level, config.log.format);
  Clock& clock = SystemClock::instance();
  // First: the journal's, the MQTT client's and the pass-use flusher's threads register in it
  // too, and it must outlive every task (the IoPool's included).
  runtime::TaskRegistry registry(clock);
  const std::string& data_dir = config.server.data_dir;
  // Store, card secret, snapshot, engine.
  if (auto made = ensure_private_dir(data_dir); !made) return fail(made.error().message);
  const auto store_dir = std::filesystem::path(config.store.path).parent_path();
  if (!store_dir.empty()) {
    if (auto made = ensure_private_dir(store_dir.string()); !made) {
      return fail(made.error().message);
    }
  }
  auto db = store::SqliteStore::open(config.store.path);
  if (!db) return fail(db.error().message);
  auto card_secret = load_card_secret(data_dir, **db);
  if (!card_secret) return fail(card_secret.error().message);
  access::SnapshotHolder snapshots;
  access::PassUseLedger ledger;
  store::ResourceService resources(**db, snapshots, ledger, *card_secret);
  if (auto started = resources.start(); !started) return fail(started.error().message);
  access::DecisionEngine engine(snapshots);

  // Journal.
  auto journal_config = journal::journal_options(config);
  journal_config.tasks = &registry;
  auto journal = journal::Journal::open(journal_config, clock);
  if (!journal) return fail(journal.error().message);
  if ((*journal)->last_recovery().tail_cut) {
    spdlog::warn("journal recovery: {}", (*journal)->last_recovery().summary());
  }
  // Before the API serves: a change a crash kept from its admin record is journaled now.
  if (auto recovered = journal_unrecorded_changes(**db, **journal); !recovered) {
    spdlog::error(
        "changes noted in the store are not journaled yet (the next start tries again): {}",
        recovered.error().message);
  } else if (recovered->noted > 0) {
    spdlog::info("{} change(s) noted in the store, {} journaled now as recovered_change",
                 recovered->noted, recovered->journaled);
  }
  auto replayed = replay_passback(**journal, *snapshots.load(), engine.passback(), clock.now());
  if (replayed) {
    spdlog::info(
        "anti-passback: {} grants replayed from {} journaled decisions at its doors ({} never "
        "reached their door)",
        replayed->grants_applied, replayed->decisions_read, replayed->grants_skipped);
  } else {
    // The doors must still work: start with no card inside, as after a reset, and say so.
    spdlog::error("anti-passback positions not restored, every card starts outside: {}",
                  replayed.error().message);
  }
  recover_pass_uses(**journal, resources, ledger);
  // Started only now: its first save moves the saved-at time past the records just read.
  store::PassUseFlusher pass_flusher(resources, ledger, clock, std::chrono::milliseconds(200),
                                     std::chrono::seconds(10), &registry);

  // Runtime.
  runtime::MetricsRegistry metrics;
  runtime::IoPool pool(std::max(1, config.server.threads));
  runtime::TaskGroup health_group(registry, "health");
  runtime::TaskGroup device_group(registry, "devices");
  auto health_options = runtime::HealthOptions::from_config(config);
  health_options.worker_threads = pool.threads();
  runtime::HealthMonitor health(
      registry, clock, health_options,
      [&j = **journal](const runtime::LeakReport& r) { journal_leak(j, r); });
  health.register_metrics(metrics);
  health.start(health_group, pool.executor());
  // On a return before the orderly stop (a start that fails below), the monitor's sampler
  // must stop before the monitor is destroyed (members go in reverse order). A no-op after
  // close_in_order.
  struct StopSamplerFirst {
    runtime::TaskGroup& group;
    ~StopSamplerFirst() { group.close_blocking(std::chrono::milliseconds(5000)); }
  } stop_sampler_first{health_group};
  runtime::FaultInjector faults(registry, pool.executor());

  // Devices over MQTT.
  auto mqtt_password = read_password_file(config.mqtt.password_file);
  if (!mqtt_password) return fail(mqtt_password.error().message);
  auto mqtt_options = devices::service_mqtt_options(config, *mqtt_password);
  mqtt_options.tasks = &registry;
  devices::MqttClient mqtt(mqtt_options);
  devices::MqttPublisher publisher(mqtt);
  devices::JournalAppender journal_sink(**journal);
  devices::SnapshotDoorDirectory doors(snapshots);
  devices::DeviceService device_service(clock, config, doors, engine, *card_secret, journal_sink,
                                        publisher, metrics);
  // Before any swipe arrives: a swipe answered before a restart and sent again gets that answer.
  if (auto remembered = replay_swipe_answers(**journal, device_service.swipes(), clock.now(),
                                             std::chrono::seconds{config.decision.dedupe_window_s});
      !remembered) {
    spdlog::error("swipe answers of the last dedupe window not read back: {}",
                  remembered.error().message);
  } else if (*remembered > 0) {
    spdlog::info("de-duplication: {} swipe answer(s) of the last {} s remembered", *remembered,
                 config.decision.dedupe_window_s);
  }
  // Before any door state arrives: an alarm raised before a restart gets its `cleared` record.
  if (auto alarms = replay_door_alarms(**journal, doors, device_service.door_states()); !alarms) {
    spdlog::error(
        "door alarms raised before the restart not read back (they get no 'cleared' "
        "record): {}",
        alarms.error().message);
  } else if (alarms->carried_over > 0) {
    spdlog::info("door alarms: {} raised before the restart and not yet cleared",
                 alarms->carried_over);
  }
  // Before any decision: the failure rates and passages behind each door's assist.
  const std::string history_path = door_history_path(data_dir);
  if (auto restored = load_door_history(history_path, doors, device_service.door_states());
      !restored) {
    spdlog::error("{}", restored.error().message);
  } else if (*restored > 0) {
    spdlog::info("door history: failure rates and passages of {} door(s) read back", *restored);
  }
  DoorHistorySaver history_saver(history_path, device_service.door_states(), clock,
                                 std::chrono::seconds(10), &registry);
  if (auto attached = device_service.attach(mqtt); !attached) return fail(attached.error().message);

  // Everything that can still fail comes before the MQTT client starts: a return after it would
  // destroy the device service under the client's network thread, with swipes already answered
  // by a server that never becomes ready.
  std::optional<devices::BrokerAccounts> broker_accounts;
  if (!config.mqtt.passwd_file.empty() && !config.mqtt.acl_file.empty()) {
    auto opened = devices::BrokerAccounts::open(config.mqtt.passwd_file, config.mqtt.acl_file);
    if (!opened) return fail(opened.error().message);
    broker_accounts.emplace(std::move(*opened));
  }

  // HTTPS API and ops listener.
  api::StoreAccounts accounts(**db);
  const auto hasher = api::PasswordHasher::interactive();
  auto jwt_key = api::TokenSigner::load_key(data_dir);
  if (!jwt_key) return fail(jwt_key.error().message);
  api::TokenSigner tokens(*jwt_key, clock, std::chrono::seconds(config.api.token_ttl_s));
  api::StoreResources resource_port(resources);
  api::EngineVerify verify_port(
      engine, **journal, clock, *card_secret,
      {pool.executor(), std::chrono::milliseconds(config.decision.timeout_ms)});
  api::JournalEvents events_port(**journal);
  DevicesAdapter devices_port(device_service, resources,
                              broker_accounts ? &*broker_accounts : nullptr,
                              config.mqtt.broker_pid_file);
  RuntimeAdapter runtime_port(registry, health, faults, metrics, **journal);
  // /readyz runs on an io thread: the store is asked by a thread of its own (store_probe.hpp).
  store::StoreProbe store_probe(**db, clock, std::chrono::seconds(1), &registry);
  auto readiness = [&journal = **journal, &mqtt, &store_probe] {
    return std::vector<api::ReadinessItem>{
        {"store", store_probe.up()}, {"journal", journal.healthy()}, {"broker", mqtt.connected()}};
  };
  api::ApiService api(api::ApiContext{.config = config,
                                      .clock = clock,
                                      .accounts = accounts,
                                      .hasher = hasher,
                                      .tokens = tokens,
                                      .resources = resource_port,
                                      .verify = verify_port,
                                      .events = events_port,
                                      .devices = devices_port,
                                      .runtime = runtime_port,
                                      .readiness = readiness});
  auto admin = api::ensure_admin_account(accounts, hasher, data_dir);
  if (!admin) return fail(admin.error().message);
  auto tls = api::ensure_tls_files(config, clock.now());
  if (!tls) return fail(tls.error().message);
  api::HttpsServer https(api, config, *tls, registry, pool.executor(), pool.executors());
  if (auto started = https.start(); !started) return fail(started.error().message);
  spdlog::info("connecting to the MQTT broker {}:{}", config.mqtt.host, config.mqtt.port);
  if (auto started = mqtt.start(); !started) return fail(started.error().message);
  device_service.start(device_group, pool.executor());

  if (admin->created) {
    std::fprintf(stderr, "castellan: created API account 'admin' with password %s (also in %s)\n",
                 admin->password.c_str(), admin->password_file.c_str());
  }
  spdlog::info("castellan server ready: api https://{}:{} ops http://{}:{} broker {}:{}",
               config.api.listen.substr(0, config.api.listen.rfind(':')), https.api_port(),
               config.ops.listen.substr(0, config.ops.listen.rfind(':')), https.ops_port(),
               config.mqtt.host, config.mqtt.port);

  int sig = 0;
  while (sigwait(&waited, &sig) == 0 && sig == SIGHUP) {
    spdlog::warn(
        "SIGHUP ignored: castellan server reloads nothing; restart it to apply a "
        "changed configuration");
  }
  spdlog::info("signal {}: shutting down", sig);

  https.stop();
  // Requests already taken finish while the journal still takes their admin records.
  api.finish_blocking_jobs();
  // Swipes already taken are answered before the broker connection goes (else their grants
  // would turn into 50301 for want of a connection); new ones stay with the broker, in the
  // service's persistent session, for the next start. The deadline bounds the wait.
  device_service.drain(
      mqtt, std::chrono::milliseconds(config.decision.timeout_ms) + std::chrono::seconds(1));
  mqtt.stop();
  faults.clear();
  runtime::TaskGroup* order[] = {&device_group, &health_group};
  const bool clean = runtime::close_in_order(order, registry, std::chrono::milliseconds(5000));
  pool.stop();
  pool.join();
  // Flushed now, while the io pool still exists: a callback of a record still queued (a slow
  // disk) posts to a connection's strand and owns a timer of the pool's io_context. The object
  // stays: a task that outlived the stop may still unsubscribe when the pool destroys it.
  (*journal)->close();
  // The threads of their own (journal, savers) are still registered here: their owners end
  // them as this function returns. Only other tasks would have been left behind.
  std::size_t threads = 0;
  for (const auto& t : registry.snapshot()) threads += t.thread ? 1 : 0;
  spdlog::info(
      "castellan server stopped ({} task(s) left behind; {} thread(s) of its own end "
      "with it)",
      registry.active_count() - threads, threads);
  return clean ? 0 : 1;
}

}  // namespace castellan::app
