#include "core/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace castellan {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("castellan-config-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".toml");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

TEST_F(ConfigTest, DefaultsWithoutFile) {
  auto c = load_config("", {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->api.listen, "127.0.0.1:8443");
  EXPECT_EQ(c->ops.listen, "127.0.0.1:9464");
  EXPECT_EQ(c->decision.timeout_ms, 300);
  EXPECT_EQ(c->devices.offline_after_ms, 8000);
  EXPECT_FALSE(c->debug.fault_injection);
}

TEST_F(ConfigTest, ReadsFileValues) {
  auto c =
      load_config(write("[api]\nlisten = \"0.0.0.0:9443\"\nmax_body_bytes = 2048\n"
                        "[debug]\nfault_injection = true\n[runtime]\nleak_score_threshold = 3\n"),
                  {});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->api.listen, "0.0.0.0:9443");
  EXPECT_EQ(c->api.max_body_bytes, 2048);
  EXPECT_TRUE(c->debug.fault_injection);
  EXPECT_DOUBLE_EQ(c->runtime.leak_score_threshold, 3.0);
}

TEST_F(ConfigTest, UnknownKeyNamesKeyFileAndLine) {
  const auto file = write("[api]\nlisten = \"127.0.0.1:1\"\n\nlisten_port = 5\n");
  auto c = load_config(file, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "config: " + file + ":4: unknown key 'api.listen_port'");
}

TEST_F(ConfigTest, UnknownSectionIsAnError) {
  const auto file = write("[apii]\nlisten = \"x\"\n");
  auto c = load_config(file, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("unknown section 'apii'"), std::string::npos)
      << c.error().message;
}

TEST_F(ConfigTest, AKnownSectionWrittenAsAnArrayOrAValueSaysHowToWriteIt) {
  const auto tables = write("[[server]]\nthreads = 2\n");
  auto c = load_config(tables, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "config: " + tables +
                                   ":1: 'server' must be a table written [server], not an array "
                                   "of tables [[server]]");
  const auto value = write("server = 1\n");
  c = load_config(value, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "config: " + value + ":1: 'server' must be a table written [server], not a value");
}

TEST_F(ConfigTest, WrongTypeIsAnError) {
  const auto file = write("[decision]\ntimeout_ms = \"fast\"\n");
  auto c = load_config(file, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "config: " + file + ":2: key 'decision.timeout_ms' must be an integer");
}

// A float where an integer belongs is refused as such, however large (1e19 does not fit an
// int64: converting it would be undefined behaviour, which UBSan reports).
TEST_F(ConfigTest, AFloatForAnIntegerKeyIsAnErrorHoweverLarge) {
  for (const char* value : {"1e19", "2.5", "-1e300"}) {
    const auto file = write(std::string("[api]\nmax_body_bytes = ") + value + "\n");
    auto c = load_config(file, {});
    ASSERT_FALSE(c.ok()) << value;
    EXPECT_EQ(c.error().message,
              "config: " + file + ":2: key 'api.max_body_bytes' must be an integer");
  }
}

TEST_F(ConfigTest, SyntaxErrorNamesLine) {
  const auto file = write("[api]\nlisten = \n");
  auto c = load_config(file, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(file + ":2:"), std::string::npos) << c.error().message;
}

TEST_F(ConfigTest, EnvironmentOverridesFile) {
  auto c = load_config(write("[api]\nlisten = \"127.0.0.1:1\"\n"),
                       {{"CASTELLAN_API_LISTEN", "127.0.0.1:2"},
                        {"CASTELLAN_JOURNAL_SEGMENT_BYTES", "4096"},
                        {"CASTELLAN_DEBUG_FAULT_INJECTION", "true"},
                        {"PATH", "/usr/bin"}});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->api.listen, "127.0.0.1:2");
  EXPECT_EQ(c->journal.segment_bytes, 4096);
  EXPECT_TRUE(c->debug.fault_injection);
}

TEST_F(ConfigTest, StrayEnvironmentVariableIsAnError) {
  auto c = load_config("", {{"CASTELLAN_FOO", "1"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "config: environment variable CASTELLAN_FOO matches no configuration key");
}

TEST_F(ConfigTest, BadEnvironmentValueIsAnError) {
  auto c = load_config("", {{"CASTELLAN_DECISION_TIMEOUT_MS", "3x"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "config: environment variable CASTELLAN_DECISION_TIMEOUT_MS must be an integer");
}

TEST_F(ConfigTest, EveryKeyHasAnEnvNameAndItsDefaultKeepsItsRule) {
  for (const auto& [key, env, default_value] : config_keys()) {
    EXPECT_EQ(env.rfind("CASTELLAN_", 0), 0u) << key;
    auto c = load_config("", {{env, default_value}});
    EXPECT_TRUE(c.ok()) << key << ": " << c.error().message;
  }
}

TEST_F(ConfigTest, ANumberOutsideItsRangeNamesTheKeyTheRangeAndTheValue) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[mqtt]\nport = 70000\n", "key 'mqtt.port' must be an integer from 1 to 65535, got 70000"},
      {"[mqtt]\nkeepalive_s = 2\n",
       "key 'mqtt.keepalive_s' must be an integer from 5 to 65535, got 2"},
      {"[api]\nmax_body_bytes = -1\n",
       "key 'api.max_body_bytes' must be an integer from 1024 to 1073741824, got -1"},
      {"[runtime]\nleak_sample_ms = 0\n",
       "key 'runtime.leak_sample_ms' must be an integer from 100 to 3600000, got 0"},
      {"[decision]\nsignature_ttl_s = 0\n",
       "key 'decision.signature_ttl_s' must be an integer from 1 to 10, got 0"},
      {"[decision]\nsignature_ttl_s = 30\n",
       "key 'decision.signature_ttl_s' must be an integer from 1 to 10, got 30"},
      {"[server]\nthreads = 0\n", "key 'server.threads' must be an integer from 1 to 256, got 0"},
      {"[runtime]\nleak_score_threshold = nan\n",
       "key 'runtime.leak_score_threshold' must be a number from 0.01 to 1000000000, got nan"},
  };
  for (const auto& [text, expected] : cases) {
    const auto file = write(text);
    auto c = load_config(file, {});
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().message, "config: " + file + ":2: " + expected);
  }
  auto env = load_config("", {{"CASTELLAN_MQTT_PORT", "0"}});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().message,
            "config: environment variable CASTELLAN_MQTT_PORT must be an integer from 1 to 65535, "
            "got 0");
}

TEST_F(ConfigTest, ALogLevelOrFormatNotInItsListIsAnError) {
  // spdlog reads a level it does not know as "off": the service would log nothing at all.
  for (const std::string level : {"INFO", "verbose", ""}) {
    const auto file = write("[log]\nlevel = \"" + level + "\"\n");
    auto c = load_config(file, {});
    ASSERT_FALSE(c.ok()) << level;
    EXPECT_EQ(c.error().message, "config: " + file +
                                     ":2: key 'log.level' must be one of trace, debug, info, "
                                     "warn, error, got \"" +
                                     level + "\"");
  }
  auto format = load_config("", {{"CASTELLAN_LOG_FORMAT", "JSON"}});
  ASSERT_FALSE(format.ok());
  EXPECT_EQ(format.error().message,
            "config: environment variable CASTELLAN_LOG_FORMAT must be one of json, text, auto, "
            "got \"JSON\"");
  EXPECT_TRUE(load_config("", {{"CASTELLAN_LOG_LEVEL", "warn"}}).ok());
}

TEST_F(ConfigTest, AnEmptyPathOrHostIsAnError) {
  auto c = load_config("", {{"CASTELLAN_SERVER_DATA_DIR", ""}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "config: environment variable CASTELLAN_SERVER_DATA_DIR must be a non-empty string");
}

TEST_F(ConfigTest, ADirectoryOrAMissingFileIsNotReadAsAnEmptyConfig) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("castellan-config-dir-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto c = load_config(dir.string(), {});
  std::filesystem::remove(dir);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message, "config: " + dir.string() + " is not a regular file");

  auto missing = load_config(dir.string() + "/nope.toml", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message,
            "config: cannot read " + dir.string() + "/nope.toml: No such file or directory");
}

TEST_F(ConfigTest, KeysThatBelongTogetherAreCheckedTogether) {
  auto acl = load_config(write("[mqtt]\npasswd_file = \"/etc/mosquitto/passwd\"\n"), {});
  ASSERT_FALSE(acl.ok());
  EXPECT_NE(acl.error().message.find("'mqtt.passwd_file' and 'mqtt.acl_file' must be set together"),
            std::string::npos)
      << acl.error().message;

  auto pid = load_config("", {{"CASTELLAN_MQTT_BROKER_PID_FILE", "/run/mosquitto.pid"}});
  ASSERT_FALSE(pid.ok());
  EXPECT_NE(pid.error().message.find("'mqtt.broker_pid_file'"), std::string::npos);

  auto retention =
      load_config(write("[journal]\nsegment_bytes = 1048576\nretention_bytes = 1048576\n"), {});
  ASSERT_FALSE(retention.ok());
  EXPECT_NE(retention.error().message.find("at least two segments (2 × journal.segment_bytes = "
                                           "2097152), got 1048576"),
            std::string::npos)
      << retention.error().message;
  EXPECT_TRUE(load_config("", {{"CASTELLAN_JOURNAL_RETENTION_BYTES", "134217728"}}).ok());
}

}  // namespace
}  // namespace castellan
