// Service configuration: one TOML file, every key overridable by CASTELLAN_<SECTION>_<KEY>.
// An unknown key, a wrong type, a value outside the key's range or list (docs/operations.md),
// or a CASTELLAN_* variable that names no key is a start-up error that names it (contract §1)
// — never a silent default or a silent clamp.
//
// Adding a key: add the member below with its default, then one line (with its rule) in
// config.cpp's field table. docs/operations.md lists every key.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace castellan {

struct Config {
  struct Server {
    std::string data_dir = "./castellan-data";  // secrets, CA, store and journal live here
    int threads = 2;                            // io worker threads
  } server;
  struct Api {
    std::string listen = "127.0.0.1:8443";
    std::string tls_cert;  // empty: generate a local CA + certificate in data_dir
    std::string tls_key;
    int max_connections = 1024;
    std::int64_t max_body_bytes = 1 << 20;
    int header_limit_bytes = 16 * 1024;
    int request_timeout_ms = 10000;  // a request must arrive whole within this
    int idle_timeout_ms = 30000;     // keep-alive connection with no request
    int token_ttl_s = 3600;
    int login_attempts_per_minute = 10;           // failed log-ins from one address
    int account_login_attempts_per_minute = 100;  // failed log-ins as one user, any address
  } api;
  struct Ops {
    std::string listen = "127.0.0.1:9464";
  } ops;
  struct Mqtt {
    std::string host = "127.0.0.1";
    int port = 1883;
    std::string username;
    std::string password_file;  // file holding the broker password (mode 0600)
    std::string client_id = "castellan";
    std::string tls_ca;  // non-empty: connect with TLS, verifying against this CA
    int keepalive_s = 10;
    std::string passwd_file;      // broker password file Castellan maintains for device credentials
    std::string acl_file;         // broker ACL file Castellan maintains
    std::string broker_pid_file;  // pid of a local mosquitto to SIGHUP after credential changes
  } mqtt;
  struct Store {
    std::string path;  // empty: data_dir/castellan.db
  } store;
  struct Journal {
    std::string dir;  // empty: data_dir/journal
    std::int64_t segment_bytes = 64LL << 20;
    int batch_max = 256;
    // 600, not JournalOptions's 0: on the service's own paths an fdatasync's CPU is what runs
    // short, and fuller batches save it (docs/benchmarks.md, "Journal linger").
    int linger_us = 600;
    int retention_days = 0;            // 0: keep forever
    std::int64_t retention_bytes = 0;  // 0: unlimited; else drop the oldest whole segments
  } journal;
  struct Decision {
    int timeout_ms = 300;
    int lookup_timeout_ms = 200;
    int device_timeout_ms = 50;
    int dedupe_window_s = 60;
    int signature_ttl_s = 10;  // `exp` of decisions and commands (at most 10 s)
    // A swipe whose `ts` is older than this when it arrives (queued by the broker while the
    // service was away) gets 50401 without being decided; 0 turns the check off.
    int max_swipe_age_ms = 10000;
    int door_swipes_per_s = 20;  // new swipes per door per second (bursts of 2 s); 0: no limit
  } decision;
  struct Devices {
    int offline_after_ms = 8000;
  } devices;
  struct Runtime {
    int leak_sample_ms = 3000;
    int leak_window_s = 60;
    double leak_score_threshold = 2.5;
    int leak_score_min_growth = 10;  // tasks above the window's mean for the score rule to fire
    double leak_rate_per_hour_threshold = 60;
    int leak_fd_growth_threshold = 64;  // open fds above the window's minimum
    int stuck_task_s = 30;              // one bounded await longer than this is reported
  } runtime;
  struct Debug {
    bool fault_injection = false;
  } debug;
  struct Log {
    std::string level = "info";   // trace, debug, info, warn, error
    std::string format = "auto";  // json, text, auto (text on a terminal)
  } log;
};

// Reads `path` (empty: defaults only; otherwise it must be a readable regular file), then
// applies `env` (name -> value) overrides, then checks the rules that tie keys together.
// Only entries whose name starts with "CASTELLAN_" are considered.
Result<Config> load_config(const std::string& path, const std::map<std::string, std::string>& env);

// The process environment as a map, for load_config.
std::map<std::string, std::string> process_environment();

// Every key as "section.key" with its env name and its default as text, for docs and tests.
struct ConfigKey {
  std::string name;
  std::string env;
  std::string default_value;
};
std::vector<ConfigKey> config_keys();

// Paths that default to inside data_dir resolved (store.path, journal.dir).
void resolve_default_paths(Config& config);

}  // namespace castellan
