// BrokerAccounts: mosquitto's $7$ password format (checked against mosquitto_passwd and a real
// broker), per-device ACL enforced by a real broker, rotation, and reading the files back.
#include "devices/broker_accounts.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "broker_fixture.hpp"
#include "core/crypto.hpp"

namespace castellan::devices {
namespace {

using namespace std::chrono_literals;
using testing::BrokerFixture;
using testing::MessageInbox;
using testing::unique_temp_dir;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(MosquittoPasswordHash, MatchesMosquittoPasswdOutput) {
  const std::string dir = unique_temp_dir("pw");
  std::filesystem::create_directories(dir);
  const std::string file = dir + "/pw";
  const std::string cmd = "mosquitto_passwd -c -b " + file + " alice 's3cret pass' 2>&1 >/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string line = read_file(file);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(line.starts_with("alice:$7$101$")) << line;
  std::string encoded = line.substr(6);
  while (!encoded.empty() && (encoded.back() == '\n' || encoded.back() == '\r')) encoded.pop_back();

  EXPECT_TRUE(mosquitto_password_matches("s3cret pass", encoded));
  EXPECT_FALSE(mosquitto_password_matches("s3cret pasS", encoded));
  EXPECT_FALSE(mosquitto_password_matches("", encoded));

  // Same salt, same password -> byte-identical encoding.
  const std::string salt_b64 = encoded.substr(7, encoded.find('$', 7) - 7);
  ASSERT_EQ(salt_b64.size(), 16u) << "12-byte salt, base64";
  unsigned char salt[16] = {};
  ASSERT_EQ(EVP_DecodeBlock(salt, reinterpret_cast<const unsigned char*>(salt_b64.data()), 16), 12);
  EXPECT_EQ(
      mosquitto_password_hash("s3cret pass", std::string_view(reinterpret_cast<char*>(salt), 12)),
      encoded);
}

TEST(MosquittoPasswordHash, OwnHashVerifiesAndRejectsGarbage) {
  std::string h = mosquitto_password_hash("pw");
  EXPECT_TRUE(mosquitto_password_matches("pw", h));
  EXPECT_FALSE(mosquitto_password_matches("pW", h));
  EXPECT_NE(h, mosquitto_password_hash("pw")) << "salt must be random";
  EXPECT_EQ(mosquitto_password_hash("pw", "0123456789ab"),
            mosquitto_password_hash("pw", "0123456789ab"));
  for (const char* bad : {"", "$6$101$a$b", "$7$", "$7$x$AAAA$AAAA", "$7$101$!!!!$AAAA"}) {
    EXPECT_FALSE(mosquitto_password_matches("pw", bad)) << bad;
  }
}

class BrokerAccountsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = unique_temp_dir("acct");
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(BrokerAccountsFiles, WritesBothFilesWithMode0600AndReadsThemBack) {
  {
    auto a = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(a->set_service_account("castellan").ok());
    ASSERT_TRUE(a->set_device_credentials("ctl-1", "hq", {"d1", "d2"}).ok());
    ASSERT_TRUE(a->set_device_credentials("sensor-1", "hq", {}).ok());
  }
  for (const char* f : {"/passwd", "/acl"}) {
    struct stat st {};
    ASSERT_EQ(::stat((dir_ + f).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  const std::string acl_before = read_file(dir_ + "/acl");
  EXPECT_NE(acl_before.find("user ctl-1\ntopic write castellan/v1/hq/devices/ctl-1/#\n"
                            "topic write castellan/v1/hq/doors/d1/swipe\n"
                            "topic write castellan/v1/hq/doors/d1/state\n"
                            "topic read castellan/v1/hq/doors/d1/decision\n"
                            "topic read castellan/v1/hq/doors/d1/command\n"),
            std::string::npos)
      << acl_before;
  EXPECT_NE(acl_before.find("user castellan\ntopic readwrite castellan/#\n"), std::string::npos);

  // Reopen and change one account: every other account survives unchanged.
  auto b = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->usernames(), (std::vector<std::string>{"castellan", "ctl-1", "sensor-1"}));
  const std::string pw_before = read_file(dir_ + "/passwd");
  ASSERT_TRUE(b->set_device_credentials("ctl-9", "hq", {"d9"}).ok());
  const std::string acl_after = read_file(dir_ + "/acl");
  // Every block ("user X" + its topic lines) of the old ACL is still there, byte for byte.
  for (std::size_t at = acl_before.find("\nuser "); at != std::string::npos;) {
    std::size_t end = acl_before.find("\n\n", at + 1);
    const std::string block = acl_before.substr(at, end == std::string::npos ? end : end - at);
    EXPECT_NE(acl_after.find(block), std::string::npos) << "lost or changed ACL block:" << block;
    at = end == std::string::npos ? end : end + 1;
  }
  EXPECT_NE(acl_after.find("user ctl-9\n"), std::string::npos);
  const std::string pw_after = read_file(dir_ + "/passwd");
  std::istringstream old_lines(pw_before);
  for (std::string l; std::getline(old_lines, l);) {
    EXPECT_NE(pw_after.find(l), std::string::npos) << "lost password line " << l;
  }
  ASSERT_TRUE(b->remove_account("sensor-1").ok());
  EXPECT_FALSE(b->has_account("sensor-1"));
  EXPECT_TRUE(b->remove_account("nobody").ok());
}

// The ACL is written before the password file: when that second write fails, the ACL on disk
// must not keep the change either, or the broker would apply it at its next reload.
TEST_F(BrokerAccountsFiles, AChangeWhosePasswordFileCannotBeWrittenLeavesTheAclAsItWas) {
  auto a = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(a->set_device_credentials("ctl-1", "hq", {"d1"}).ok());
  const std::string acl_before = read_file(dir_ + "/acl");
  // The password file's temporary file cannot be created (a directory is in its place).
  std::filesystem::create_directory(dir_ + "/passwd.tmp");
  auto widened = a->set_device_credentials("ctl-1", "hq", {"d1", "d2"});
  ASSERT_FALSE(widened.ok());
  EXPECT_EQ(read_file(dir_ + "/acl"), acl_before) << "the failed change is in the ACL on disk";
  EXPECT_EQ(read_file(dir_ + "/acl").find("doors/d2/"), std::string::npos);
  std::filesystem::remove(dir_ + "/passwd.tmp");
  auto reopened = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(reopened->usernames(), (std::vector<std::string>{"ctl-1"}));
}

// save() writes the ACL, then the password file: a stop between them leaves new accounts'
// blocks without their password lines. They are still Castellan's: the next call gives them a
// password instead of refusing them as hand-made (which stopped every later `castellan demo`).
TEST_F(BrokerAccountsFiles, AccountsWhosePasswordAStopKeptFromTheFileAreStillCastellans) {
  {
    auto a = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(a->set_service_account("castellan").ok());
    ASSERT_TRUE(a->set_device_credentials("ctl-1", "hq", {"d1"}).ok());
  }
  std::ofstream(dir_ + "/passwd", std::ios::trunc).close();  // the stop came before it
  auto b = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(b->set_service_account("castellan").ok());
  auto device = b->set_device_credentials("ctl-1", "hq", {"d1"});
  ASSERT_TRUE(device.ok()) << device.error().message;
  const std::string pw = read_file(dir_ + "/passwd");
  EXPECT_NE(pw.find("castellan:$7$"), std::string::npos) << pw;
  EXPECT_NE(pw.find("ctl-1:$7$"), std::string::npos) << pw;
}

TEST_F(BrokerAccountsFiles, RejectsBadIdsAndKindConflicts) {
  auto a = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->set_device_credentials("bad id", "hq", {}).error().code, Code::ERR_BAD_REQUEST);
  EXPECT_EQ(a->set_device_credentials("c:1", "hq", {}).error().code, Code::ERR_BAD_REQUEST);
  EXPECT_EQ(a->set_device_credentials("c1", "HQ", {}).error().code, Code::ERR_BAD_REQUEST);
  EXPECT_EQ(a->set_device_credentials("c1", "hq", {"d/1"}).error().code, Code::ERR_BAD_REQUEST);
  EXPECT_EQ(a->set_device_credentials("c1", "hq", {"#"}).error().code, Code::ERR_BAD_REQUEST);
  EXPECT_EQ(a->set_service_account("a b").error().code, Code::ERR_BAD_REQUEST);
  ASSERT_TRUE(a->set_service_account("svc").ok());
  ASSERT_TRUE(a->set_device_credentials("dev", "hq", {}).ok());
  EXPECT_EQ(a->set_device_credentials("svc", "hq", {}).error().code, Code::ERR_CONFLICT);
  EXPECT_EQ(a->set_service_account("dev").error().code, Code::ERR_CONFLICT);
  EXPECT_FALSE(BrokerAccounts::open("", dir_ + "/acl").ok());
}

// An operator's own broker accounts and rules (mosquitto_passwd, an edited ACL), added before
// the start or while Castellan runs, survive its changes as they were written.
TEST_F(BrokerAccountsFiles, AccountsAndRulesAddedByHandAreKeptAsWritten) {
  const std::string monitor_pw = "monitor:" + mosquitto_password_hash("m");
  std::ofstream(dir_ + "/passwd") << monitor_pw << "\n";
  std::ofstream(dir_ + "/acl") << "# site rules\n"
                                  "topic read $SYS/#\n"
                                  "pattern read castellan/v1/+/devices/%u/#\n"
                                  "\nuser monitor\ntopic read castellan/#\n"
                                  "\nuser cert-only\ntopic read castellan/v1/hq/#\n";
  auto a = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(a->set_service_account("castellan").ok());
  // Added while it runs.
  const std::string late_pw = "late:" + mosquitto_password_hash("l");
  std::ofstream(dir_ + "/passwd", std::ios::app) << late_pw << "\n";
  ASSERT_TRUE(a->set_device_credentials("ctl-1", "hq", {"d1"}).ok());

  const std::string pw = read_file(dir_ + "/passwd");
  EXPECT_NE(pw.find(monitor_pw + "\n"), std::string::npos) << pw;
  EXPECT_NE(pw.find(late_pw + "\n"), std::string::npos) << pw;
  EXPECT_EQ(pw.find("cert-only"), std::string::npos) << "an ACL block is not a password";
  const std::string acl = read_file(dir_ + "/acl");
  for (const char* kept : {"\ntopic read $SYS/#\npattern read castellan/v1/+/devices/%u/#\n",
                           "\nuser monitor\ntopic read castellan/#\n",
                           "\nuser cert-only\ntopic read castellan/v1/hq/#\n",
                           "\nuser ctl-1\ntopic write castellan/v1/hq/devices/ctl-1/#\n"}) {
    EXPECT_NE(acl.find(kept), std::string::npos) << "missing: " << kept << "\nin:\n" << acl;
  }
  EXPECT_EQ(acl.find("user late"), std::string::npos) << "no block: no rights, as written";
  EXPECT_EQ(acl.find("devices/monitor"), std::string::npos) << acl;
  EXPECT_EQ(a->usernames(), (std::vector<std::string>{"castellan", "ctl-1", "late", "monitor"}));
  // Castellan's own accounts are still its own: a rotation keeps the device's doors.
  auto again = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(again->set_service_account("ctl-1").error().code, Code::ERR_CONFLICT);
  // The operator's accounts are not taken over by a credentials call, or made a service.
  for (const char* theirs : {"monitor", "late", "cert-only"}) {
    auto as_device = again->set_device_credentials(theirs, "hq", {"d1"});
    ASSERT_FALSE(as_device.ok()) << theirs;
    EXPECT_EQ(as_device.error().code, Code::ERR_CONFLICT);
    EXPECT_NE(as_device.error().message.find("does not manage"), std::string::npos);
    EXPECT_EQ(again->set_service_account(theirs).error().code, Code::ERR_CONFLICT) << theirs;
  }
  EXPECT_NE(read_file(dir_ + "/passwd").find(monitor_pw + "\n"), std::string::npos);
}

// The files as an editor may leave them: CRLF line ends, trailing blanks, a second section for
// one of Castellan's users, a `pattern` line at the end. Read as mosquitto reads them: the
// device keeps every right it had, and a device whose section is only re-formatted stays
// Castellan's to rotate.
TEST_F(BrokerAccountsFiles, AnEditedAclIsReadAsMosquittoReadsItAndNoRightIsLost) {
  {
    auto a = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(a->set_device_credentials("ctl-1", "hq", {"d1"}).ok());
    ASSERT_TRUE(a->set_device_credentials("ctl-2", "hq", {"d2"}).ok());
  }
  std::string crlf;
  for (char c : read_file(dir_ + "/acl"))
    crlf += c == '\n' ? std::string("  \r\n") : std::string(1, c);
  std::ofstream(dir_ + "/acl", std::ios::trunc)
      << crlf << "\r\nuser ctl-1\r\ntopic read $SYS/broker/uptime\r\n"
      << "pattern read castellan/v1/hq/devices/%u/config\r\n";
  std::string pw;
  for (char c : read_file(dir_ + "/passwd"))
    pw += c == '\n' ? std::string("\r\n") : std::string(1, c);
  std::ofstream(dir_ + "/passwd", std::ios::trunc) << pw;

  auto b = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
  ASSERT_TRUE(b.ok()) << b.error().message;
  ASSERT_TRUE(b->set_device_credentials("ctl-3", "hq", {"d3"}).ok());
  const std::string acl = read_file(dir_ + "/acl");
  for (const char* kept :
       {"topic write castellan/v1/hq/doors/d1/swipe\n",
        "topic read castellan/v1/hq/doors/d1/decision\n", "topic read $SYS/broker/uptime\n",
        "pattern read castellan/v1/hq/devices/%u/config\n",
        "\nuser ctl-2\ntopic write castellan/v1/hq/devices/ctl-2/#\n"}) {
    EXPECT_NE(acl.find(kept), std::string::npos) << "missing: " << kept << "\nin:\n" << acl;
  }
  EXPECT_EQ(acl.find('\r'), std::string::npos);
  EXPECT_EQ(read_file(dir_ + "/passwd").find('\r'), std::string::npos);
  EXPECT_TRUE(b->set_device_credentials("ctl-2", "hq", {"d2"}).ok()) << "still Castellan's";
  EXPECT_EQ(b->set_device_credentials("ctl-1", "hq", {"d1"}).error().code, Code::ERR_CONFLICT)
      << "its rights were changed by hand: the operator's now";
}

TEST_F(BrokerAccountsFiles, MalformedPasswordFileIsAnErrorNamingTheLine) {
  std::ofstream(dir_ + "/passwd") << "ok:$7$101$AAAA$AAAA\nno-colon-here\n";
  auto a = BrokerAccounts::open(dir_ + "/passwd", dir_ + "/acl");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find(":2:"), std::string::npos) << a.error().message;
}

class BrokerAccountsLive : public BrokerFixture {
 protected:
  MqttCredentials device(const std::string& id, std::vector<std::string> doors) {
    auto c = accounts_->set_device_credentials(id, "hq", doors);
    EXPECT_TRUE(c.ok());
    EXPECT_TRUE(broker_->reload().ok());
    return *c;
  }
  // Connect attempt result: the first state report (CONNACK accepted or refused) decides.
  bool can_connect(const MqttCredentials& creds) {
    MqttClient c(options_for(creds));
    std::promise<bool> first;
    std::atomic<bool> reported{false};
    c.on_state([&](bool up, std::string_view) {
      if (!reported.exchange(true)) first.set_value(up);
    });
    EXPECT_TRUE(c.start().ok());
    auto f = first.get_future();
    EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
    bool up = f.valid() && f.wait_for(0s) == std::future_status::ready && f.get();
    c.stop();
    return up;
  }
};

TEST_F(BrokerAccountsLive, RealBrokerAcceptsGeneratedPasswordAndRejectsAWrongOne) {
  auto creds = device("ctl-1", {"d1"});
  EXPECT_TRUE(can_connect(creds));
  EXPECT_FALSE(can_connect(MqttCredentials{creds.username, creds.password + "x"}));
}

TEST_F(BrokerAccountsLive, RotationInvalidatesTheOldPasswordAfterReload) {
  auto first = device("ctl-1", {"d1"});
  auto second = device("ctl-1", {"d1"});
  EXPECT_NE(first.password, second.password);
  // SIGHUP is asynchronous: retry the old password until the broker has re-read the file.
  bool old_refused = false;
  for (int i = 0; i < 20 && !old_refused; ++i) old_refused = !can_connect(first);
  EXPECT_TRUE(old_refused);
  EXPECT_TRUE(can_connect(second));
  EXPECT_TRUE(can_connect(admin_)) << "rotation must not disturb other accounts";
}

TEST_F(BrokerAccountsLive, DeviceMayPublishOnlyItsOwnTopics) {
  auto creds = device("ctl-1", {"d1"});
  MessageInbox& seen = new_inbox();
  MqttClient& spy = admin_client(&seen);
  ASSERT_TRUE(spy.subscribe("castellan/#").ok());
  ASSERT_TRUE(spy.wait_subacks(1, 10s));
  MqttClient& dev = client(options_for(creds));

  // Denied publishes are dropped silently by mosquitto (MQTT 3.1.1 has no error for them).
  // Each denied publish is followed by an allowed one from the same client: messages of one
  // client are forwarded in order, so once the last allowed one arrived, a denied one that had
  // got through would have arrived before it.
  ASSERT_TRUE(dev.publish("castellan/v1/hq/doors/d2/swipe", "denied-other-door").ok());
  ASSERT_TRUE(dev.publish("castellan/v1/hq/doors/d1/swipe", "ok-swipe").ok());
  ASSERT_TRUE(dev.publish("castellan/v1/hq/devices/ctl-2/heartbeat", "denied-other-device").ok());
  ASSERT_TRUE(dev.publish("castellan/v1/hq/devices/ctl-1/heartbeat", "ok-heartbeat").ok());
  ASSERT_TRUE(dev.publish("castellan/v1/hq/doors/d1/decision", "denied-forged-decision").ok());
  ASSERT_TRUE(dev.publish("castellan/v1/other/doors/d1/swipe", "denied-other-site").ok());
  ASSERT_TRUE(dev.publish("castellan/v1/hq/doors/d1/state", "ok-state").ok());
  ASSERT_TRUE(seen.wait_for_count(3));
  ASSERT_TRUE(dev.publish("castellan/v1/hq/devices/ctl-1/telemetry", "ok-last").ok());
  for (int i = 0; i < 1000; ++i) {
    auto m = seen.messages();
    if (!m.empty() && m.back().payload == "ok-last") break;
    ASSERT_TRUE(seen.wait_for_count(m.size() + 1));
  }
  std::vector<std::string> payloads;
  for (auto& m : seen.messages()) payloads.push_back(m.payload);
  EXPECT_EQ(payloads,
            (std::vector<std::string>{"ok-swipe", "ok-heartbeat", "ok-state", "ok-last"}));
}

TEST_F(BrokerAccountsLive, DeviceReadsOnlyDecisionsAndCommandsOfItsDoors) {
  auto creds = device("ctl-1", {"d1"});
  MessageInbox& got = new_inbox();
  MqttClient& dev = client(options_for(creds), &got);
  ASSERT_TRUE(dev.subscribe("castellan/v1/hq/doors/d1/decision").ok());
  ASSERT_TRUE(dev.subscribe("castellan/v1/hq/doors/d1/command").ok());
  ASSERT_TRUE(dev.subscribe("castellan/v1/hq/doors/d2/decision").ok());
  ASSERT_TRUE(dev.subscribe("castellan/v1/hq/doors/d1/swipe").ok());
  ASSERT_TRUE(dev.wait_subacks(4, 10s));
  MqttClient& server = admin_client();
  ASSERT_TRUE(server.publish("castellan/v1/hq/doors/d2/decision", "not-yours").ok());
  ASSERT_TRUE(server.publish("castellan/v1/hq/doors/d1/swipe", "not-readable").ok());
  ASSERT_TRUE(server.publish("castellan/v1/hq/doors/d1/decision", "yours").ok());
  ASSERT_TRUE(server.publish("castellan/v1/hq/doors/d1/command", "yours-too").ok());
  ASSERT_TRUE(got.wait_for_count(2));
  std::vector<std::string> payloads;
  for (auto& m : got.messages()) payloads.push_back(m.payload);
  EXPECT_EQ(payloads, (std::vector<std::string>{"yours", "yours-too"}));
}

}  // namespace
}  // namespace castellan::devices
