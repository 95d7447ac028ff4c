// The API's door commands through the real adapter: DevicesAdapter over a real SQLite store
// (ResourceService) and the real DeviceService, whose publisher can be taken down. What the
// door was sent and what the store says must agree.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "../devices/bridge_fakes.hpp"
#include "../devices/bridge_world.hpp"
#include "../journal/test_support.hpp"
#include "app/api_adapters.hpp"
#include "devices/broker_accounts.hpp"
#include "devices/service.hpp"
#include "store/resource_service.hpp"
#include "store/sqlite_store.hpp"

namespace castellan::app {
namespace {

using namespace devices::testing;

class DevicesAdapterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(resources_->start().ok());
    create(access::Collection::sites, R"({"id":"hq","name":"HQ","tz":"UTC"})");
    create(access::Collection::doors, R"({"id":"d1","site":"hq","name":"Main","controller":"c1"})");
  }
  void create(access::Collection c, std::string_view text) {
    auto r = resources_->create(c, boost::json::parse(text), "admin");
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
  }
  bool locked_down() {
    auto door = resources_->get(access::Collection::doors, "d1");
    EXPECT_TRUE(door.ok());
    return door.ok() && door->at("lockdown").as_bool();
  }
  // The `cmd` of every command the door was sent.
  std::vector<std::string> commands_sent() {
    std::vector<std::string> cmds;
    for (const auto& m : publisher_.messages()) {
      cmds.emplace_back(boost::json::parse(m.payload).at("cmd").as_string());
    }
    return cmds;
  }

  FakeClock clock_{*parse_utc("2026-11-22T03:00:00Z")};
  journal::testing::TempDir dir_;
  std::unique_ptr<store::SqliteStore> store_ =
      store::SqliteStore::open(dir_.path() + "/castellan.db").value();
  access::PassUseLedger ledger_;
  access::SnapshotHolder holder_;
  std::unique_ptr<store::ResourceService> resources_ =
      std::make_unique<store::ResourceService>(*store_, holder_, ledger_, kCardSecret);
  access::DecisionEngine engine_{holder_};
  devices::SnapshotDoorDirectory doors_{holder_};
  runtime::MetricsRegistry metrics_;
  RecordingJournal journal_;
  RecordingPublisher publisher_;
  Config config_;
  devices::DeviceService devices_{clock_,      config_,  doors_,     engine_,
                                  kCardSecret, journal_, publisher_, metrics_};
  DevicesAdapter adapter_{devices_, *resources_, nullptr, ""};
};

// A release the door never got leaves the lockdown in force: the engine keeps denying, as the
// door does, and the operator's retry finds the door still locked down.
TEST_F(DevicesAdapterTest, AReleaseTheDoorNeverGotLeavesTheLockdownInForce) {
  ASSERT_TRUE(adapter_.lockdown("d1", "op", "t1").ok());
  EXPECT_TRUE(locked_down());

  publisher_.set_down(true);
  auto failed = adapter_.release("d1", "op", "t2");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_TRUE(locked_down()) << "the flag was cleared for a release the door never got";

  publisher_.set_down(false);
  ASSERT_TRUE(adapter_.release("d1", "op", "t3").ok());
  EXPECT_FALSE(locked_down());
  EXPECT_EQ(commands_sent(), (std::vector<std::string>{"lockdown", "release"}));
}

// A lockdown is in force even when its command could not be sent: the flag comes first.
TEST_F(DevicesAdapterTest, ALockdownWhoseCommandFailedIsStillInForce) {
  publisher_.set_down(true);
  auto failed = adapter_.lockdown("d1", "op", "t1");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, Code::ERR_UNAVAILABLE);
  EXPECT_TRUE(locked_down());
  EXPECT_TRUE(commands_sent().empty());
}

// A broker pid file left behind by a mosquitto that was killed may name another process by
// now (this test's own pid here): the credentials are written, and that process is not sent
// the SIGHUP meant for the broker (it would end this test binary).
TEST_F(DevicesAdapterTest, CredentialsDoNotSignalAProcessThatIsNotTheBroker) {
  auto accounts = devices::BrokerAccounts::open(dir_.path() + "/passwd", dir_.path() + "/acl");
  ASSERT_TRUE(accounts.ok()) << accounts.error().message;
  const std::string pid_file = dir_.path() + "/mosquitto.pid";
  std::ofstream(pid_file) << ::getpid() << "\n";
  DevicesAdapter adapter{devices_, *resources_, &*accounts, pid_file};
  auto creds = adapter.device_credentials("c1");
  ASSERT_TRUE(creds.ok()) << creds.error().message;
  EXPECT_EQ(creds->at("username").as_string(), "c1");
  EXPECT_TRUE(accounts->has_account("c1"));
}

}  // namespace
}  // namespace castellan::app
