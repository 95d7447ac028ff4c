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

TEST_F(ConfigTest, WrongTypeIsAnError) {
  const auto file = write("[decision]\ntimeout_ms = \"fast\"\n");
  auto c = load_config(file, {});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "config: " + file + ":2: key 'decision.timeout_ms' must be an integer");
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

TEST_F(ConfigTest, EveryKeyHasAnEnvName) {
  for (const auto& [key, env] : config_keys()) {
    EXPECT_EQ(env.rfind("CASTELLAN_", 0), 0u) << key;
    auto c = load_config("", {{env, key == "debug.fault_injection" ? "true" : "1"}});
    EXPECT_TRUE(c.ok()) << key << ": " << c.error().message;
  }
}

}  // namespace
}  // namespace castellan
