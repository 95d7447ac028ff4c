// Runs the real `castellan` binary as a user would.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "../devices/held_port.hpp"
#include "../journal/segment_bytes.hpp"
#include "../journal/test_support.hpp"
#include "castellan_binary.hpp"
#include "core/clock.hpp"
#include "journal/journal.hpp"

namespace {

using namespace castellan;

using app::testing::kBinary;
using app::testing::run;

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
  const auto r = run("timeout 30 " + kBinary + " server --config " + file);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("config: " + file + ":3: unknown key 'api.lissten'"), std::string::npos)
      << r.output;
  std::filesystem::remove(file);
}

TEST(Cli, StrayEnvironmentVariableFailsNamingIt) {
  const auto file = temp_file("ok.toml", "[api]\nlisten = \"127.0.0.1:0\"\n");
  const auto r = run("CASTELLAN_FOO=1 timeout 30 " + kBinary + " server --config " + file);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("environment variable CASTELLAN_FOO matches no configuration key"),
            std::string::npos)
      << r.output;
  std::filesystem::remove(file);
}

TEST(Cli, AConfigPathThatIsEmptyOrADirectoryFailsInsteadOfStartingOnDefaults) {
  // `timeout`: a server that starts on its defaults would run until stopped.
  const auto empty = run("timeout 30 " + kBinary + " server --config ''");
  EXPECT_EQ(empty.code, 2);
  EXPECT_NE(empty.output.find("--config needs a file"), std::string::npos) << empty.output;

  journal::testing::TempDir dir;
  const auto directory = run("timeout 30 " + kBinary + " server --config " + dir.path());
  EXPECT_EQ(directory.code, 2);
  EXPECT_NE(directory.output.find("config: " + dir.path() + " is not a regular file"),
            std::string::npos)
      << directory.output;
  EXPECT_FALSE(std::filesystem::exists("castellan-data")) << "the defaults' data_dir was created";
}

TEST(Cli, AConfigValueOutOfRangeFailsNamingKeyAndRange) {
  const auto file = temp_file("port.toml", "[mqtt]\nport = 70000\n");
  const auto r = run("timeout 30 " + kBinary + " server --config " + file);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("config: " + file +
                          ":2: key 'mqtt.port' must be an integer from 1 to 65535, "
                          "got 70000"),
            std::string::npos)
      << r.output;
  std::filesystem::remove(file);
}

TEST(Cli, ABadOptionOrAnOptionValueOutOfRangeExits2NamingIt) {
  const auto unknown = run("timeout 30 " + kBinary + " server --config /dev/null --bogus");
  EXPECT_EQ(unknown.code, 2) << unknown.output;
  EXPECT_NE(unknown.output.find("--bogus"), std::string::npos) << unknown.output;
  // 0 connections divided by zero (SIGFPE); 0 ms between heartbeats flooded the broker.
  for (const std::string bad : {"--max-clients 0", "--heartbeat-ms 0", "--doors -3"}) {
    const auto r = run("timeout 10 " + kBinary + " sim --broker 127.0.0.1:1 " + bad);
    EXPECT_EQ(r.code, 2) << bad << ": " << r.output;
    EXPECT_NE(r.output.find(bad.substr(0, bad.find(' '))), std::string::npos) << r.output;
  }
}

// A journal of a few segments written by the real writer, for the journal sub-commands.
struct SmallJournal {
  SmallJournal() {
    journal::JournalOptions o;
    o.dir = dir.path();
    o.segment_bytes = 2048;
    o.batch_max = 2;  // rotation happens between batches
    auto j = journal::Journal::open(o, clock);
    EXPECT_TRUE(j.ok());
    std::vector<journal::JournalRecord> records;
    for (int i = 0; i < 20; ++i) {
      records.push_back(journal::testing::decision_record("d1", "u" + std::to_string(i), "grant"));
    }
    journal::testing::append_all(**j, records);
  }
  journal::testing::TempDir dir;
  FakeClock clock{*parse_utc("2026-11-22T03:00:00Z")};
};

TEST(Cli, JournalExportThatCannotWriteItsOutputFails) {
  SmallJournal journal;
  const std::string exporting = kBinary + " journal export " + journal.dir.path();
  EXPECT_EQ(run("(" + exporting + " >/dev/null)").code, 0);
  const auto r = run("(" + exporting + " >/dev/full)");  // stderr still comes back
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("castellan journal export: writing the output failed"), std::string::npos)
      << r.output;
}

TEST(Cli, JournalExportOfADamagedJournalFailsAfterWhatItCouldExport) {
  SmallJournal journal;
  auto segments = *journal::list_segments(journal.dir.path());
  ASSERT_GE(segments.size(), 2u);
  std::string bytes = journal::testing::slurp(segments[0].path);
  const auto frames = journal::testing::frames_of(bytes);
  bytes[frames[0].offset + frames[0].size / 2] ^= 0x01;
  journal::testing::spit(segments[0].path, bytes);
  const auto r = run("(" + kBinary + " journal export " + journal.dir.path() + " >/dev/null)");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("castellan journal export: damage in segment " + segments[0].path),
            std::string::npos)
      << r.output;
  EXPECT_EQ(run(kBinary + " journal verify " + journal.dir.path()).code, 1);
}

TEST(Cli, JournalExportOfAnEmptyRangeIsABadRange) {
  SmallJournal journal;
  const auto r = run(kBinary + " journal export " + journal.dir.path() +
                     " --from 2026-11-22T03:00:09Z --to 2026-11-22T03:00:01Z");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--from 2026-11-22T03:00:09Z is after --to 2026-11-22T03:00:01Z"),
            std::string::npos)
      << r.output;
}

TEST(Cli, JournalVerifyOfADirectoryThatHoldsNoJournalIsAnError) {
  journal::testing::TempDir data;
  std::filesystem::create_directories(data.file("journal"));
  std::ofstream(data.file("castellan.db")) << "x";
  for (const char* sub : {"verify", "export"}) {
    const auto r = run(kBinary + " journal " + sub + " " + data.path());
    EXPECT_EQ(r.code, 2) << sub << ": " << r.output;
    EXPECT_NE(r.output.find(data.path() +
                            " is not a journal directory: no segment files, no "
                            "index.dat (did you mean " +
                            data.file("journal") + "?)"),
              std::string::npos)
        << r.output;
  }
}

TEST(Cli, JournalVerifyOfAJournalWhoseSegmentsWereRemovedIsDamage) {
  SmallJournal journal;
  const auto segments = journal::list_segments(journal.dir.path());
  ASSERT_TRUE(segments.ok());
  for (const auto& segment : *segments) std::filesystem::remove(segment.path);
  const auto r = run(kBinary + " journal verify " + journal.dir.path());
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(
      r.output.find("but its index.dat lists records up to seq 20: the segments were removed"),
      std::string::npos)
      << r.output;
}

TEST(Cli, ServerRefusesAnMqttPasswordFileOthersCanRead) {
  journal::testing::TempDir dir;
  const std::string password = dir.file("mqtt-password");
  std::ofstream(password) << "s3cret\n";
  std::filesystem::permissions(password, std::filesystem::perms(0644));
  const auto config =
      temp_file("mqtt-password.toml", "[server]\ndata_dir = \"" + dir.file("data") +
                                          "\"\n[api]\nlisten = \"127.0.0.1:0\"\n[ops]\nlisten = "
                                          "\"127.0.0.1:0\"\n[mqtt]\npassword_file = \"" +
                                          password + "\"\n");
  const auto r = run("timeout 30 " + kBinary + " server --config " + config);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("mqtt.password_file: secret file " + password +
                          " is readable by group or others; chmod 600 it"),
            std::string::npos)
      << r.output;
  std::filesystem::remove(config);
}

// A server that cannot open its API port exits 1 with the reason before it starts its MQTT
// client (nothing is decided or answered by a server that will not become ready).
TEST(Cli, ServerWhoseApiPortIsTakenExitsNamingIt) {
  journal::testing::TempDir dir;
  devices::testing::HeldPort taken;
  ASSERT_NE(taken.port(), 0);
  const std::string listen = "127.0.0.1:" + std::to_string(taken.port());
  const auto config =
      temp_file("port-taken.toml", "[server]\ndata_dir = \"" + dir.file("data") +
                                       "\"\n[api]\nlisten = \"" + listen +
                                       "\"\n[ops]\nlisten = \"127.0.0.1:0\"\n[log]\nlevel = "
                                       "\"debug\"\n");
  const auto r = run("timeout 30 " + kBinary + " server --config " + config);
  taken.release();
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.output.find("Cannot listen on " + listen), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("connecting to the MQTT broker"), std::string::npos)
      << "the MQTT client was started:\n"
      << r.output;
  std::filesystem::remove(config);
}

// A server that cannot start its io threads (here a 1 GiB address-space limit against 256
// threads' stacks) exits 1 naming the setting, instead of aborting in std::thread's destructor.
TEST(Cli, AServerThatCannotStartItsThreadsExitsNamingTheSetting) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitized binary cannot run under an address-space limit";
#endif
  journal::testing::TempDir dir;
  const auto config = temp_file("threads.toml", "[server]\ndata_dir = \"" + dir.file("data") +
                                                    "\"\nthreads = 256\n[api]\nlisten = "
                                                    "\"127.0.0.1:0\"\n[ops]\nlisten = "
                                                    "\"127.0.0.1:0\"\n");
  const auto r =
      run("ulimit -v 1048576 && exec timeout 30 " + kBinary + " server --config " + config);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("cannot start io thread"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(server.threads; a thread or memory limit?)"), std::string::npos);
  std::filesystem::remove(config);
}

}  // namespace
