// Runs the real `castellan` binary as a user would.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

const std::string kBinary = std::string(CASTELLAN_BINARY_DIR) + "/src/app/castellan";

struct Run {
  int code = -1;
  std::string output;
};

// Runs `command` through the shell with stderr folded into stdout.
Run run(const std::string& command) {
  Run r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p) != nullptr) r.output += buf.data();
  const int status = ::pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string temp_file(const std::string& name, const std::string& content) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("castellan-cli-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << content;
  return path.string();
}

TEST(Cli, HelpListsSubcommands) {
  const auto r = run(kBinary + " --help");
  EXPECT_EQ(r.code, 0);
  for (const char* sub : {"server", "demo", "sim", "journal", "version"}) {
    EXPECT_NE(r.output.find(sub), std::string::npos) << sub << " missing from:\n" << r.output;
  }
}

TEST(Cli, EverySubcommandHasHelp) {
  for (const char* sub :
       {"server", "demo", "sim", "journal", "journal verify", "journal export", "version"}) {
    const auto r = run(kBinary + " " + sub + " --help");
    EXPECT_EQ(r.code, 0) << sub << ":\n" << r.output;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub;
  }
}

TEST(Cli, VersionPrints) {
  const auto r = run(kBinary + " version");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.output.rfind("castellan ", 0), 0u) << r.output;
}

TEST(Cli, NoSubcommandIsAnError) {
  const auto r = run(kBinary);
  EXPECT_NE(r.code, 0);
}

TEST(Cli, UnknownConfigKeyFailsNamingIt) {
  const auto file = temp_file("bad-key.toml", "[api]\nlisten = \"127.0.0.1:0\"\nlissten = 1\n");
  const auto r = run(kBinary + " server --config " + file);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("config: " + file + ":3: unknown key 'api.lissten'"), std::string::npos)
      << r.output;
  std::filesystem::remove(file);
}

TEST(Cli, StrayEnvironmentVariableFailsNamingIt) {
  const auto file = temp_file("ok.toml", "[api]\nlisten = \"127.0.0.1:0\"\n");
  const auto r = run("CASTELLAN_FOO=1 " + kBinary + " server --config " + file);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("environment variable CASTELLAN_FOO matches no configuration key"),
            std::string::npos)
      << r.output;
  std::filesystem::remove(file);
}

}  // namespace
