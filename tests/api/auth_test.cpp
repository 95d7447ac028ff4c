#include <gtest/gtest.h>
#include <sys/stat.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/json.hpp>
#include <fstream>

#include "api/accounts.hpp"
#include "api/auth.hpp"
#include "api/replies.hpp"
#include "api/router.hpp"
#include "api/tls_files.hpp"
#include "core/secrets.hpp"
#include "harness.hpp"

namespace castellan::api {
namespace {

using namespace std::chrono_literals;

// Exactly one side has the last word on a late request: the handler or the transport's 504.
TEST(ReplyClaim, TheFirstToSettleWinsAndKeepsWinning) {
  ReplyClaim answered;
  EXPECT_TRUE(answered.answer());
  EXPECT_FALSE(answered.give_up()) << "the reply is on its way: no 504";
  EXPECT_TRUE(answered.answer());
  ReplyClaim timed_out;
  EXPECT_TRUE(timed_out.give_up());
  EXPECT_FALSE(timed_out.answer()) << "the client got 504: the handler must undo its work";
  EXPECT_TRUE(timed_out.give_up());
}

TEST(TokenSigner, IssuedTokenChecksWithItsClaims) {
  FakeClock clock(from_unix_ms(1'800'000'000'000));
  TokenSigner signer("k", clock, 60s);
  const auto issued = signer.issue("ada", Role::kOperator);
  auto claims = signer.check(issued.token);
  ASSERT_TRUE(claims.ok()) << claims.error().message;
  EXPECT_EQ(claims->username, "ada");
  EXPECT_EQ(claims->role, Role::kOperator);
  EXPECT_EQ(claims->expires_at, clock.now() + 60s);
}

TEST(TokenSigner, ATokenCheckedBeforeStillExpiresAndForgeriesAreNotRemembered) {
  FakeClock clock(from_unix_ms(1'800'000'000'000));
  TokenSigner signer("k", clock, 60s);
  const auto token = signer.issue("ada", Role::kOperator).token;
  for (int i = 0; i < 3; ++i) {
    auto claims = signer.check(token);  // the first check remembers it, the others find it
    ASSERT_TRUE(claims.ok());
    EXPECT_EQ(claims->username, "ada");
    EXPECT_EQ(claims->role, Role::kOperator);
  }
  clock.advance(60s);
  auto expired = signer.check(token);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().message, "The bearer token has expired; log in again.");
  EXPECT_FALSE(signer.check(token).ok());  // and stays refused

  // A refused token is not remembered: it is refused again, for the same reason.
  const std::string bad = TokenSigner("other-key", clock, 60s).issue("bob", Role::kAdmin).token;
  EXPECT_EQ(signer.check(bad).error().message, "The bearer token's signature is not valid.");
  EXPECT_EQ(signer.check(bad).error().message, "The bearer token's signature is not valid.");

  // More distinct tokens than it remembers: every one still checks.
  for (int i = 0; i < 5000; ++i) {
    ASSERT_TRUE(signer.check(signer.issue("u" + std::to_string(i), Role::kAuditor).token).ok());
  }
}

TEST(TokenSigner, ExpiredTamperedAndForeignTokensAreRefused) {
  FakeClock clock(from_unix_ms(1'800'000'000'000));
  TokenSigner signer("k", clock, 60s);
  const auto token = signer.issue("ada", Role::kAuditor).token;
  clock.advance(61s);
  auto expired = signer.check(token);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code, Code::ERR_UNAUTHENTICATED);

  TokenSigner fresh("k", clock, 60s);
  std::string t = fresh.issue("ada", Role::kAuditor).token;
  // Swap the claims for ones claiming admin, keeping the signature.
  TokenSigner other("k", clock, 60s);
  const std::string admin = other.issue("ada", Role::kAdmin).token;
  const std::string forged = admin.substr(0, admin.rfind('.')) + t.substr(t.rfind('.'));
  EXPECT_FALSE(fresh.check(forged).ok());
  TokenSigner foreign("other-key", clock, 60s);
  EXPECT_FALSE(fresh.check(foreign.issue("ada", Role::kAdmin).token).ok());
  EXPECT_FALSE(fresh.check("not.a.jwt").ok());
  EXPECT_FALSE(fresh.check("").ok());
}

TEST(PasswordHasher, VerifiesOnlyTheRightPassword) {
  const auto hasher = PasswordHasher::fast_for_tests();
  auto hash = hasher.hash("correct horse");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(hasher.verify(*hash, "correct horse"));
  EXPECT_FALSE(hasher.verify(*hash, "correct horsE"));
}

TEST(LoginLimiter, BlocksAnAddressAfterItsLimitWithinAMinuteThenForgets) {
  FakeClock clock;
  LoginLimiter limiter(clock, 3, 10);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(limiter.refused("ada", "10.0.0.1"));
    limiter.record_failure("ada", "10.0.0.1");
  }
  EXPECT_TRUE(limiter.refused("ada", "10.0.0.1"));
  EXPECT_TRUE(limiter.refused("bob", "10.0.0.1")) << "the address, whatever the name";
  clock.advance(61s);
  EXPECT_FALSE(limiter.refused("ada", "10.0.0.1"));
}

// Wrong passwords sent from one address do not lock the account's owner out elsewhere; an
// account is refused everywhere only once failures from several addresses reach its own limit.
TEST(LoginLimiter, AnAccountIsRefusedEverywhereOnlyAtItsOwnHigherLimit) {
  FakeClock clock;
  LoginLimiter limiter(clock, 3, 10);
  for (int i = 0; i < 3; ++i) limiter.record_failure("ada", "10.0.0.1");
  EXPECT_TRUE(limiter.refused("ada", "10.0.0.1"));
  EXPECT_FALSE(limiter.refused("ada", "10.0.0.2")) << "the owner, from another address";
  // Guessing spread over addresses, each under its own limit: 10 failures in all.
  for (int i = 0; i < 7; ++i) {
    const std::string address = "10.0.1." + std::to_string(i / 2);
    EXPECT_FALSE(limiter.refused("ada", address));
    limiter.record_failure("ada", address);
  }
  EXPECT_TRUE(limiter.refused("ada", "10.0.0.2"));
  EXPECT_FALSE(limiter.refused("bob", "10.0.0.2"));
  clock.advance(61s);
  EXPECT_FALSE(limiter.refused("ada", "10.0.0.2"));
}

// The TLS private key, generated or configured, is a secret: one others can read is refused.
TEST(TlsFiles, APrivateKeyOthersCanReadIsRefused) {
  Config config;
  const testing::TempDirectory tmp;
  config.server.data_dir = tmp.path;
  auto generated = ensure_tls_files(config, SystemClock::instance().now());
  ASSERT_TRUE(generated.ok()) << generated.error().message;
  ASSERT_TRUE(ensure_tls_files(config, SystemClock::instance().now()).ok())
      << "the generated set is reused";
  ASSERT_EQ(::chmod(generated->key.c_str(), 0644), 0);
  auto reused = ensure_tls_files(config, SystemClock::instance().now());
  ASSERT_FALSE(reused.ok());
  EXPECT_NE(reused.error().message.find("is readable by group or others"), std::string::npos);

  config.api.tls_cert = generated->cert_chain;
  config.api.tls_key = generated->key;
  auto configured = ensure_tls_files(config, SystemClock::instance().now());
  ASSERT_FALSE(configured.ok());
  EXPECT_EQ(configured.error().message.rfind("api.tls_key: secret file ", 0), 0u)
      << configured.error().message;
  ASSERT_EQ(::chmod(generated->key.c_str(), 0600), 0);
  EXPECT_TRUE(ensure_tls_files(config, SystemClock::instance().now()).ok());
}

std::string contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The first certificate of a PEM file (owned by the caller).
X509* first_cert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return cert;
}

// A generated server certificate valid for 825 days is renewed at the first start within its
// last 30 days, signed by the same CA: clients that trust ca.pem notice nothing.
TEST(TlsFiles, AGeneratedServerCertificateNearItsEndIsRenewedFromTheSameCa) {
  Config config;
  const testing::TempDirectory tmp;
  config.server.data_dir = tmp.path;
  const TimePoint created = *parse_utc("2026-12-01T00:00:00Z");
  auto files = ensure_tls_files(config, created);
  ASSERT_TRUE(files.ok()) << files.error().message;
  const std::string ca_before = contents(files->ca);
  const std::string cert_before = contents(files->cert_chain);
  const std::string key_before = contents(files->key);

  ASSERT_TRUE(ensure_tls_files(config, created + std::chrono::days(794)).ok());
  EXPECT_EQ(contents(files->cert_chain), cert_before) << "31 days left: kept";

  const TimePoint late = created + std::chrono::days(796);  // 29 days left
  ASSERT_TRUE(ensure_tls_files(config, late).ok());
  EXPECT_EQ(contents(files->ca), ca_before) << "the CA stays";
  EXPECT_NE(contents(files->cert_chain), cert_before);
  EXPECT_NE(contents(files->key), key_before);
  struct stat st {};
  ASSERT_EQ(::stat(files->key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  X509* server = first_cert(files->cert_chain);
  X509* ca = first_cert(files->ca);
  ASSERT_NE(server, nullptr);
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ(X509_verify(server, X509_get0_pubkey(ca)), 1) << "signed by the same CA";
  std::tm end{};
  ASSERT_EQ(ASN1_TIME_to_tm(X509_get0_notAfter(server), &end), 1);
  const auto end_at = std::chrono::system_clock::from_time_t(timegm(&end));
  EXPECT_GT(end_at, late + std::chrono::days(824)) << "a full 825 days from the renewal";
  X509_free(server);
  X509_free(ca);
  ASSERT_TRUE(ensure_tls_files(config, late).ok());
  EXPECT_NE(contents(files->cert_chain), cert_before);

  // Years later, a renewal never outlives the CA (10 years from `created`).
  const TimePoint near_ca_end = created + std::chrono::days(3650 - 400);
  ASSERT_TRUE(ensure_tls_files(config, near_ca_end).ok());
  X509* renewed = first_cert(files->cert_chain);
  X509* same_ca = first_cert(files->ca);
  ASSERT_NE(renewed, nullptr);
  ASSERT_NE(same_ca, nullptr);
  EXPECT_LE(ASN1_TIME_compare(X509_get0_notAfter(renewed), X509_get0_notAfter(same_ca)), 0);
  X509_free(renewed);
  X509_free(same_ca);
}

// A server certificate a power cut left empty, or one beside a key that is not its own (a stop
// between a renewal's two files), would stop the API from starting: it is issued again from the
// same CA, so clients keep their ca.pem.
TEST(TlsFiles, AServerCertificateLeftEmptyOrNotItsKeysIsIssuedAgainFromTheSameCa) {
  Config config;
  const testing::TempDirectory tmp;
  config.server.data_dir = tmp.path;
  const TimePoint now = *parse_utc("2026-12-01T00:00:00Z");
  auto files = ensure_tls_files(config, now);
  ASSERT_TRUE(files.ok()) << files.error().message;
  const std::string ca_before = contents(files->ca);
  const auto usable = [&] {
    X509* server = first_cert(files->cert_chain);
    X509* ca = first_cert(files->ca);
    FILE* f = std::fopen(files->key.c_str(), "r");
    EVP_PKEY* key = f ? PEM_read_PrivateKey(f, nullptr, nullptr, nullptr) : nullptr;
    if (f) std::fclose(f);
    const bool ok = server && ca && key && X509_check_private_key(server, key) == 1 &&
                    X509_verify(server, X509_get0_pubkey(ca)) == 1;
    X509_free(server);
    X509_free(ca);
    EVP_PKEY_free(key);
    return ok;
  };
  ASSERT_TRUE(usable());

  std::ofstream(files->cert_chain, std::ios::trunc).close();  // empty
  ASSERT_TRUE(ensure_tls_files(config, now).ok());
  EXPECT_TRUE(usable());
  EXPECT_EQ(contents(files->ca), ca_before);

  const testing::TempDirectory other;  // another set's key in place of this one's
  Config other_config;
  other_config.server.data_dir = other.path;
  auto foreign = ensure_tls_files(other_config, now);
  ASSERT_TRUE(foreign.ok());
  ASSERT_TRUE(write_secret_file(files->key, contents(foreign->key)).ok());
  ASSERT_FALSE(usable());
  ASSERT_TRUE(ensure_tls_files(config, now).ok());
  EXPECT_TRUE(usable());
  EXPECT_EQ(contents(files->ca), ca_before);

  // Without the CA's key (kept elsewhere) no new CA is made behind the operator's back.
  std::ofstream(files->cert_chain, std::ios::trunc).close();
  std::filesystem::remove(tmp.path + "/tls/ca-key.pem");
  auto refused = ensure_tls_files(config, now);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("is unreadable or not its key's, and its CA cannot issue "
                                         "another"),
            std::string::npos)
      << refused.error().message;
  EXPECT_EQ(contents(files->ca), ca_before);
}

TEST(TlsFiles, ACaKeyOthersCanReadIsRefused) {
  Config config;
  const testing::TempDirectory tmp;
  config.server.data_dir = tmp.path;
  ASSERT_TRUE(ensure_tls_files(config, SystemClock::instance().now()).ok());
  const std::string ca_key = config.server.data_dir + "/tls/ca-key.pem";
  ASSERT_EQ(::chmod(ca_key.c_str(), 0644), 0);
  auto reused = ensure_tls_files(config, SystemClock::instance().now());
  ASSERT_FALSE(reused.ok());
  EXPECT_EQ(reused.error().message,
            "secret file " + ca_key + " is readable by group or others; chmod 600 it");
}

// Counts the look-ups that reach the store (each one could block an io thread on a disk).
class CountingAccounts final : public AccountRepository {
 public:
  Result<std::optional<Account>> find(const std::string& username) override {
    ++finds;
    return inner.find(username);
  }
  Result<std::vector<Account>> list(const std::string& after, int limit) override {
    return inner.list(after, limit);
  }
  Result<void> create(const Account& a) override { return inner.create(a); }
  Result<void> update(const Account& a) override { return inner.update(a); }
  Result<void> remove(const std::string& username) override { return inner.remove(username); }
  MemoryAccountRepository inner;
  int finds = 0;
};

// The account check of every request runs on an io thread: after the start's preload it
// answers from memory, also after the API changed or deleted an account.
TEST(AccountTags, RequestsNeverReadTheStoreForAccountsKnownAtStartOrChangedSince) {
  CountingAccounts repo;
  std::vector<Account> accounts;
  for (int i = 0; i < 1200; ++i) {  // more than one page of the preload
    accounts.push_back(
        Account{"user" + std::to_string(i), "$argon2id$h" + std::to_string(i), Role::kOperator});
    ASSERT_TRUE(repo.create(accounts.back()).ok());
  }
  AccountTags tags(repo);
  ASSERT_TRUE(tags.preload().ok());
  for (const auto& a : accounts) {
    auto tag = tags.current(a.username);
    ASSERT_TRUE(tag.ok());
    EXPECT_EQ(*tag, account_tag(a));
  }
  Account changed = accounts[7];
  changed.password_hash = "$argon2id$new";
  ASSERT_TRUE(repo.update(changed).ok());
  tags.set(changed.username, account_tag(changed));
  EXPECT_EQ(*tags.current(changed.username), account_tag(changed));
  ASSERT_TRUE(repo.remove(accounts[9].username).ok());
  tags.set(accounts[9].username, std::nullopt);
  EXPECT_EQ(*tags.current(accounts[9].username), std::nullopt);
  EXPECT_EQ(repo.finds, 0) << "no request read the store";
  EXPECT_EQ(*tags.current("nobody"), std::nullopt);
  EXPECT_EQ(repo.finds, 1) << "a name not known at start is looked up";
}

TEST(Accounts, AnAdminPasswordFileOthersCanReadStopsTheStart) {
  const testing::TempDirectory tmp;
  const std::string& dir = tmp.path;
  MemoryAccountRepository accounts;
  const auto hasher = PasswordHasher::fast_for_tests();
  auto first = ensure_admin_account(accounts, hasher, dir);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(::chmod(first->password_file.c_str(), 0644), 0);
  auto again = ensure_admin_account(accounts, hasher, dir);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("is readable by group or others"), std::string::npos);
}

TEST(TokenSigner, AKeyFileRestoredWithANewlineSignsAsBefore) {
  const testing::TempDirectory tmp;
  const std::string& dir = tmp.path;
  auto key = TokenSigner::load_key(dir);
  ASSERT_TRUE(key.ok()) << key.error().message;
  ASSERT_TRUE(write_secret_file(dir + "/jwt-secret", *key + "\n").ok());  // `echo "$KEY" >`
  auto restored = TokenSigner::load_key(dir);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(*restored, *key);
  ASSERT_TRUE(write_secret_file(dir + "/jwt-secret", "").ok());  // an empty key anyone knows
  auto empty = TokenSigner::load_key(dir);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("must hold 64 hex digits (a 32-byte key), found 0"),
            std::string::npos)
      << empty.error().message;
}

TEST(Accounts, FirstStartCreatesAdminWithA0600PasswordFileOnce) {
  const testing::TempDirectory tmp;
  const std::string& dir = tmp.path;
  MemoryAccountRepository accounts;
  const auto hasher = PasswordHasher::fast_for_tests();
  auto first = ensure_admin_account(accounts, hasher, dir);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_TRUE(first->created);
  EXPECT_GE(first->password.size(), 16u);
  struct stat st {};
  ASSERT_EQ(::stat(first->password_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::ifstream in(first->password_file);
  std::string on_disk;
  std::getline(in, on_disk);
  EXPECT_EQ(on_disk, first->password);
  const auto admin = accounts.find("admin").value();
  ASSERT_TRUE(admin.has_value());
  EXPECT_EQ(admin->role, Role::kAdmin);
  EXPECT_TRUE(hasher.verify(admin->password_hash, first->password));
  auto second = ensure_admin_account(accounts, hasher, dir);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_TRUE(second->password.empty());
}

TEST(Accounts, ADeletedAdminStaysDeletedWhileAnotherAdministratorExists) {
  const testing::TempDirectory tmp;
  const std::string& dir = tmp.path;
  MemoryAccountRepository accounts;
  const auto hasher = PasswordHasher::fast_for_tests();
  ASSERT_TRUE(ensure_admin_account(accounts, hasher, dir).ok());
  ASSERT_TRUE(accounts.create({"root", hasher.hash("another-pass").value(), Role::kAdmin}).ok());
  ASSERT_TRUE(accounts.remove("admin").ok());
  auto restart = ensure_admin_account(accounts, hasher, dir);
  ASSERT_TRUE(restart.ok());
  EXPECT_FALSE(restart->created);
  EXPECT_FALSE(accounts.find("admin").value().has_value());
  // With no administrator left at all, the next start creates `admin` again (recovery).
  ASSERT_TRUE(accounts.update({"root", hasher.hash("another-pass").value(), Role::kOperator}).ok());
  auto recovery = ensure_admin_account(accounts, hasher, dir);
  ASSERT_TRUE(recovery.ok());
  EXPECT_TRUE(recovery->created);
  EXPECT_EQ(accounts.find("admin").value()->role, Role::kAdmin);
}

TEST(Router, MostLiteralPatternWinsAndParamsAreExtracted) {
  Router r;
  r.add({"GET", "/v1/events", Access::kRead, nullptr});
  r.add({"GET", "/v1/events/stream", Access::kRead, nullptr});
  r.add({"GET", "/v1/doors/{id}", Access::kRead, nullptr});
  r.add({"GET", "/v1/doors/{id}/assist", Access::kRead, nullptr});
  EXPECT_EQ(r.match("GET", "/v1/events/stream").route->pattern, "/v1/events/stream");
  auto m = r.match("GET", "/v1/doors/d-7/assist");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/v1/doors/{id}/assist");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0], "d-7");
  auto wrong_method = r.match("POST", "/v1/doors/d1");
  EXPECT_EQ(wrong_method.route, nullptr);
  EXPECT_TRUE(wrong_method.path_exists);
  EXPECT_FALSE(r.match("GET", "/v1/nothing").path_exists);
  EXPECT_EQ(r.match("GET", "/v1/doors/").route, nullptr);
}

TEST(Replies, TraceIdComesFromAValidTraceparentOnly) {
  EXPECT_EQ(trace_id_from("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  const auto fresh = trace_id_from("garbage");
  EXPECT_EQ(fresh.size(), 32u);
  EXPECT_EQ(fresh.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(trace_id_from("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            "00000000000000000000000000000000");
}

TEST(Replies, ServerErrorsHideTheirInternalTextClientErrorsKeepTheirs) {
  const Reply server = error_reply(
      make_error(Code::ERR_UNAVAILABLE, "cannot fdatasync /var/lib/castellan/journal/seg: EIO"),
      "abc");
  EXPECT_EQ(server.status, 503);
  const auto s = boost::json::parse(server.body);
  EXPECT_EQ(s.at("error").at("code").as_int64(), 50301);
  EXPECT_EQ(s.at("error").at("trace_id").as_string(), "abc");
  EXPECT_EQ(server.body.find("fdatasync"), std::string::npos) << server.body;
  EXPECT_EQ(server.body.find("/var/lib"), std::string::npos) << server.body;
  const Reply timeout = error_reply(make_error(Code::ERR_TIMEOUT, "sqlite step: busy"), "abc");
  EXPECT_EQ(timeout.status, 504);
  EXPECT_EQ(timeout.body.find("sqlite"), std::string::npos) << timeout.body;
  const Reply client = error_reply(make_error(Code::ERR_NOT_FOUND, "no door d7"), "abc");
  EXPECT_EQ(boost::json::parse(client.body).at("error").at("message").as_string(), "no door d7");
}

TEST(Replies, ErrorShapeMatchesTheContract) {
  const Reply r = error_reply(Code::ERR_CONFLICT, "It exists.", "abc");
  EXPECT_EQ(r.status, 409);
  const auto v = boost::json::parse(r.body);
  EXPECT_EQ(v.at("error").at("code").as_int64(), 40901);
  EXPECT_EQ(v.at("error").at("name").as_string(), "ERR_CONFLICT");
  EXPECT_EQ(v.at("error").at("message").as_string(), "It exists.");
  EXPECT_EQ(v.at("error").at("trace_id").as_string(), "abc");
}

}  // namespace
}  // namespace castellan::api
