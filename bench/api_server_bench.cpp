// Two uses:
//  * `api_server_bench` (as run by bench/run_all.sh): Google Benchmark of the API pipeline
//    without the network — route match, JWT check, JSON parse, reply — for POST /v1/verify.
//  * `api_server_bench --serve DIR`: the HTTPS API over the real parts (SQLite store,
//    decision engine, journal with fsync) seeded with one site/door/user/card, for
//    bench/api_load.sh. Prints "READY <api port> <operator token>" and runs until SIGTERM.
//    `--serve DIR THREADS --no-journal` answers verify without journaling (transport ceiling).
//    CASTELLAN_BENCH_LINGER_US sets the journal's linger (default: the service's, [journal]
//    linger_us).
#include <benchmark/benchmark.h>
#include <signal.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "access/codec.hpp"
#include "access/engine.hpp"
#include "api/api_service.hpp"
#include "api/engine_verify.hpp"
#include "api/https_server.hpp"
#include "api/journal_events.hpp"
#include "api/store_adapters.hpp"
#include "core/log.hpp"
#include "journal/journal.hpp"
#include "runtime/io_pool.hpp"
#include "runtime/task_registry.hpp"
#include "store/resource_service.hpp"
#include "store/sqlite_store.hpp"

namespace castellan::api {
namespace {
namespace json = boost::json;

// Devices and runtime are not part of this measurement.
struct NoDevices final : DevicesPort {
  json::array list_devices() override { return {}; }
  std::optional<json::object> device(std::string_view) override { return std::nullopt; }
  Result<json::object> door_assist(std::string_view) override {
    return make_error(Code::ERR_DOOR_UNKNOWN, "none");
  }
  Result<int> unlock(std::string_view, int duration_ms, std::string_view, std::string_view,
                     std::string_view) override {
    return duration_ms;
  }
  Result<void> lockdown(std::string_view, std::string_view, std::string_view) override {
    return {};
  }
  Result<void> release(std::string_view, std::string_view, std::string_view) override { return {}; }
  Result<std::string> door_key(std::string_view) override {
    return make_error(Code::ERR_DOOR_UNKNOWN, "none");
  }
  Result<std::string> rotate_door_key(std::string_view, std::string_view) override {
    return make_error(Code::ERR_DOOR_UNKNOWN, "none");
  }
  Result<json::object> device_credentials(std::string_view) override {
    return make_error(Code::ERR_NOT_FOUND, "none");
  }
};
struct NoRuntime final : RuntimePort {
  json::value sli_json() override { return json::object{}; }
  json::value tasks_json() override { return json::object{}; }
  Result<void> inject_fault(const json::object&) override {
    return make_error(Code::ERR_NOT_FOUND, "off");
  }
  std::string render_metrics() override { return ""; }
};
struct NoResources final : ResourcePort {
  Error none() { return make_error(Code::ERR_NOT_FOUND, "none"); }
  Result<json::object> create(std::string_view, const json::object&, std::string_view) override {
    return none();
  }
  Result<json::object> get(std::string_view, std::string_view) override { return none(); }
  Result<Page> list(std::string_view, int, std::string_view) override { return none(); }
  Result<json::object> patch(std::string_view, std::string_view, const json::object&,
                             std::string_view) override {
    return none();
  }
  Result<void> remove(std::string_view, std::string_view, std::string_view) override {
    return none();
  }
  Result<json::object> issue_pass(const json::object&, std::string_view) override { return none(); }
  Result<void> forget_change(std::string_view) override { return {}; }
};
struct NoEvents final : EventsPort {
  Result<EventLines> query(const EventQuery&) override { return EventLines{}; }
  Result<EventLines> after(std::uint64_t, std::size_t) override { return EventLines{}; }
  std::unique_ptr<Subscription> subscribe(std::function<void(std::string)>) override {
    return nullptr;
  }
  Result<void> record_admin(std::string_view, const json::object&, std::string_view) override {
    return {};
  }
  bool can_record() const override { return true; }
};
struct InstantVerify final : VerifyPort {
  void verify(const VerifyRequest&, std::function<void(Result<VerifyOutcome>)> done) override {
    done(VerifyOutcome{true, Code::OK, 1});
  }
};

// Decides with the real engine but does not journal: isolates TLS + HTTP + API cost from the
// journal's fsync wait (bench/api_load.sh's "transport ceiling" row).
struct EngineOnlyVerify final : VerifyPort {
  EngineOnlyVerify(access::DecisionEngine& engine, std::string secret)
      : engine(engine), secret(std::move(secret)) {}
  void verify(const VerifyRequest& r, std::function<void(Result<VerifyOutcome>)> done) override {
    const auto hash = access::card_hash_from_uid(secret, r.card);
    if (!hash) return done(make_error(Code::ERR_BAD_REQUEST, "bad card"));
    const auto result = engine.decide(access::DecisionRequest{
        r.site, r.door, *hash, access::Direction::in, SystemClock::instance().now()});
    done(VerifyOutcome{result.granted, result.code, 0});
  }
  access::DecisionEngine& engine;
  std::string secret;
};

// A token as a log-in gives it: its account exists and the token carries the account's tag
// (the API checks both on every request).
std::string bench_token(AccountRepository& accounts, const TokenSigner& tokens) {
  const Account bench{"bench", "no-password: tokens are minted here", Role::kOperator};
  (void)accounts.create(bench);
  return tokens.issue(bench.username, bench.role, account_tag(bench)).token;
}

void BM_ApiPipelineVerify(benchmark::State& state) {
  Config config;
  MemoryAccountRepository accounts;
  const auto hasher = PasswordHasher::fast_for_tests();
  TokenSigner tokens("bench-key", SystemClock::instance(), std::chrono::seconds(3600));
  NoResources resources;
  InstantVerify verify;
  NoEvents events;
  NoDevices devices;
  NoRuntime runtime;
  ApiService api(ApiContext{config,
                            SystemClock::instance(),
                            accounts,
                            hasher,
                            tokens,
                            resources,
                            verify,
                            events,
                            devices,
                            runtime,
                            {}});
  const std::string auth = "Bearer " + bench_token(accounts, tokens);
  int status = 0;
  for (auto _ : state) {
    Request r;
    r.method = "POST";
    r.path = "/v1/verify";
    r.authorization = auth;
    r.body = R"({"site":"hq","door":"d1","card":"04A1B2C3","dir":"in"})";
    api.handle(std::move(r), [&status](Reply reply) { status = reply.status; });
    benchmark::DoNotOptimize(status);
  }
  if (status != 200) state.SkipWithError("verify did not answer 200");
}
BENCHMARK(BM_ApiPipelineVerify);

// What the account check adds to every request (a remembered tag, compared with the token's),
// and, as its baseline in the same run, the per-request token check it follows (a remembered
// token: no HMAC, no JSON).
void BM_RequestAccountTagCheck(benchmark::State& state) {
  MemoryAccountRepository accounts;
  TokenSigner tokens("bench-key", SystemClock::instance(), std::chrono::seconds(3600));
  const std::string token = bench_token(accounts, tokens);
  AccountTags tags(accounts);
  const auto claims = tokens.check(token).value();
  for (auto _ : state) {
    auto tag = tags.current(claims.username);
    benchmark::DoNotOptimize(tag.ok() && *tag && **tag == claims.account_tag);
  }
}
BENCHMARK(BM_RequestAccountTagCheck);

void BM_RequestRememberedTokenCheck(benchmark::State& state) {
  MemoryAccountRepository accounts;
  TokenSigner tokens("bench-key", SystemClock::instance(), std::chrono::seconds(3600));
  const std::string token = bench_token(accounts, tokens);
  (void)tokens.check(token);
  for (auto _ : state) benchmark::DoNotOptimize(tokens.check(token).ok());
}
BENCHMARK(BM_RequestRememberedTokenCheck);

int serve(const std::string& dir, int threads, bool journal_wait) {
  init_logging("warn", "json");
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // inherited by every thread started below

  Config config;
  config.server.data_dir = dir;
  config.api.listen = "127.0.0.1:0";
  config.ops.listen = "127.0.0.1:0";
  auto db = store::SqliteStore::open(dir + "/castellan.db");
  if (!db) return std::cerr << db.error().message << "\n", 1;
  access::SnapshotHolder holder;
  access::PassUseLedger ledger;
  store::ResourceService service(**db, holder, ledger, "bench-card-secret");
  if (auto s = service.start(); !s) return std::cerr << s.error().message << "\n", 1;
  for (auto [c, body] :
       {std::pair{access::Collection::sites, R"({"id":"hq","name":"HQ","tz":"Europe/Berlin"})"},
        {access::Collection::doors,
         R"({"id":"d1","site":"hq","name":"Main","controller":"ctl-1"})"},
        {access::Collection::users, R"({"id":"u1","name":"Ada"})"},
        {access::Collection::groups, R"({"id":"staff","doors":["d1"],"members":["u1"]})"},
        {access::Collection::cards, R"({"id":"c1","uid":"04A1B2C3","user":"u1"})"}}) {
    if (auto r = service.create(c, json::parse(body), "bench"); !r)
      return std::cerr << r.error().message << "\n", 1;
  }
  access::DecisionEngine engine(holder);
  // The service's journal configuration (its default linger included).
  config.journal.dir = dir + "/journal";
  auto journal_options = journal::journal_options(config);
  if (const char* v = std::getenv("CASTELLAN_BENCH_LINGER_US")) {
    journal_options.linger = std::chrono::microseconds(std::atoi(v));
  }
  auto journal = journal::Journal::open(journal_options, SystemClock::instance());
  if (!journal) return std::cerr << journal.error().message << "\n", 1;
  StoreResources resources(service);
  StoreAccounts accounts(**db);
  JournalEvents events(**journal);
  runtime::TaskRegistry registry(SystemClock::instance());
  runtime::IoPool pool(threads);  // as `castellan server` runs its io threads
  // With the decision deadline on the first io thread's timers, as the server has it.
  EngineVerify journaled(engine, **journal, SystemClock::instance(), "bench-card-secret",
                         {pool.executor(), std::chrono::milliseconds(config.decision.timeout_ms)});
  EngineOnlyVerify engine_only(engine, "bench-card-secret");
  VerifyPort& verify = journal_wait ? static_cast<VerifyPort&>(journaled) : engine_only;
  NoDevices devices;
  NoRuntime runtime;
  const auto hasher = PasswordHasher::interactive();
  TokenSigner tokens(TokenSigner::load_key(dir).value(), SystemClock::instance(),
                     std::chrono::seconds(3600));
  ApiService api(ApiContext{config,
                            SystemClock::instance(),
                            accounts,
                            hasher,
                            tokens,
                            resources,
                            verify,
                            events,
                            devices,
                            runtime,
                            {}});
  auto tls = ensure_tls_files(config, SystemClock::instance().now());
  if (!tls) return std::cerr << tls.error().message << "\n", 1;
  HttpsServer server(api, config, *tls, registry, pool.executor(), pool.executors());
  if (auto s = server.start(); !s) return std::cerr << s.error().message << "\n", 1;
  std::cout << "READY " << server.api_port() << " " << bench_token(accounts, tokens) << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  server.stop();
  // Where a journaled verify waits: how full the group commits were and how long each took.
  const auto stats = (*journal)->stats();
  if (journal_wait && stats.batches > 0) {
    std::cerr << "journal: " << stats.records << " records in " << stats.batches
              << " batches (mean " << static_cast<double>(stats.records) / stats.batches
              << "), mean fdatasync " << 1e6 * stats.fsync_seconds_sum / stats.batches << " us\n";
  }
  pool.stop();
  pool.join();
  return 0;
}

}  // namespace
}  // namespace castellan::api

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "--serve") == 0) {
    const int threads = argc >= 4 ? std::atoi(argv[3]) : 2;
    const bool journal_wait = !(argc >= 5 && std::strcmp(argv[4], "--no-journal") == 0);
    return castellan::api::serve(argv[2], threads > 0 ? threads : 2, journal_wait);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
