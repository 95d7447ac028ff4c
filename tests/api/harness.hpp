// A running HTTPS API on free loopback ports over the fake ports, with a real TaskRegistry,
// real TLS files in a temp dir and two io threads.
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <thread>

#include "api/api_service.hpp"
#include "api/https_server.hpp"
#include "fakes.hpp"
#include "https_client.hpp"
#include "runtime/task_registry.hpp"

namespace castellan::api::testing {

inline std::string make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "castellan-api-XXXXXX").string();
  return std::string(::mkdtemp(tmpl.data()));
}

// A temp dir removed at the end of its scope, whatever the test's outcome.
struct TempDirectory {
  std::string path = make_temp_dir();
  TempDirectory() = default;
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
  ~TempDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
};

inline Config harness_config(const std::string& dir, const std::function<void(Config&)>& tweak) {
  Config c;
  c.server.data_dir = dir;
  c.api.listen = "127.0.0.1:0";
  c.ops.listen = "127.0.0.1:0";
  if (tweak) tweak(c);
  return c;
}

// Real implementations to use instead of the fakes (null: the fake).
struct PortOverrides {
  ResourcePort* resources = nullptr;
  EventsPort* events = nullptr;
  AccountRepository* accounts = nullptr;
  VerifyPort* verify = nullptr;
  std::string dir;  // data dir to use (removed at the end); empty: a new temp dir
};

class ApiHarness {
 public:
  explicit ApiHarness(std::function<void(Config&)> tweak = {}, PortOverrides real = {})
      : dir(real.dir.empty() ? make_temp_dir() : real.dir),
        config(harness_config(dir, tweak)),
        hasher(PasswordHasher::fast_for_tests()),
        tokens(TokenSigner::load_key(dir).value(), SystemClock::instance(),
               std::chrono::seconds(config.api.token_ttl_s)),
        api(ApiContext{config, SystemClock::instance(), real.accounts ? *real.accounts : accounts,
                       hasher, tokens, real.resources ? *real.resources : resources,
                       real.verify ? *real.verify : verify, real.events ? *real.events : events,
                       devices, runtime_port, [this] { return readiness; }}),
        registry(SystemClock::instance()),
        work(io.get_executor()),
        account_repo(real.accounts) {
    auto files = ensure_tls_files(config, SystemClock::instance().now());
    tls = files.value();
    server = std::make_unique<HttpsServer>(api, config, tls, registry, io.get_executor());
    auto started = server->start();
    if (!started) throw std::runtime_error(started.error().message);
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
  }
  ~ApiHarness() {
    server->stop();
    server.reset();
    work.reset();
    io.stop();
    for (auto& t : threads) t.join();
    std::filesystem::remove_all(dir);
  }

  std::string token(Role role) {
    const std::string username = std::string(role_name(role)) + "-user";
    return "Bearer " + tokens.issue(username, role, account_tag_for(username, role)).token;
  }
  // The tag a log-in as `username` would put in its token (the API checks it), the account
  // created with `role` first if it does not exist; "" when the accounts cannot be reached.
  std::string account_tag_for(const std::string& username, Role role) {
    AccountRepository& repo = account_repo ? *account_repo : accounts;
    auto found = repo.find(username);
    if (!found) return "";
    if (*found) return account_tag(**found);
    const Account account{username, hasher.hash("harness-password").value(), role};
    if (repo.create(account)) return account_tag(account);
    // Another caller's thread created it first (40901): its tag, as stored.
    auto created = repo.find(username);
    return created && *created ? account_tag(**created) : "";
  }
  // A token of an existing account, right in every way but its expiry.
  std::string expired_token(Role role) {
    const std::string username = std::string(role_name(role)) + "-user";
    return "Bearer " + tokens.sign(username, role,
                                   SystemClock::instance().now() - std::chrono::seconds(5),
                                   account_tag_for(username, role));
  }
  std::unique_ptr<HttpsClient> client(const std::string& from = "") {
    return std::make_unique<HttpsClient>(server->api_port(), tls.ca, false, from);
  }
  HttpResult call(const std::string& method, const std::string& target,
                  const std::string& body = "", std::optional<Role> role = Role::kAdmin) {
    auto c = client();
    std::map<std::string, std::string> headers;
    if (role) headers["Authorization"] = token(*role);
    return c->request(method, target, body, headers);
  }
  // Waits (bounded) until only the two accept loops are registered.
  bool wait_for_tasks(std::size_t count) {
    for (int i = 0; i < 500; ++i) {
      if (registry.active_count() == count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return registry.active_count() == count;
  }

  std::string dir;
  Config config;
  MemoryAccountRepository accounts;
  PasswordHasher hasher;
  TokenSigner tokens;
  FakeResources resources;
  FakeVerify verify;
  FakeEvents events;
  FakeDevices devices;
  FakeRuntime runtime_port;
  std::vector<ReadinessItem> readiness{{"store", true}, {"journal", true}, {"broker", true}};
  ApiService api;
  runtime::TaskRegistry registry;
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
  AccountRepository* account_repo = nullptr;  // the overriding accounts; null: `accounts`
  TlsFiles tls;
  std::unique_ptr<HttpsServer> server;
  std::vector<std::thread> threads;
};

}  // namespace castellan::api::testing
