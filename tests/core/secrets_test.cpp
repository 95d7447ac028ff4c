#include "core/secrets.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace castellan {
namespace {

class SecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("castellan-secrets-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    ASSERT_TRUE(ensure_private_dir(dir_.string()).ok());
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(SecretsTest, CreatesOnceWithMode0600ThenReadsBack) {
  const auto path = (dir_ / "card-secret").string();
  auto first = load_or_create_secret_file(path, "abc123");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, "abc123");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = load_or_create_secret_file(path, "other");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, "abc123") << "an existing secret must never be replaced";
}

TEST_F(SecretsTest, RefusesGroupReadableSecret) {
  const auto path = (dir_ / "jwt-key").string();
  ASSERT_TRUE(write_secret_file(path, "k").ok());
  ::chmod(path.c_str(), 0644);
  auto r = load_or_create_secret_file(path, "x");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("readable by group or others"), std::string::npos);
}

TEST_F(SecretsTest, AKeyFileIsCreatedAs64HexDigitsAndReadBackWithoutTheNewlineAnEditorAdds) {
  const auto path = (dir_ / "card-secret").string();
  auto created = load_or_create_key_file(path);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->size(), 64u);
  ASSERT_TRUE(write_secret_file(path, "  " + *created + "\r\n").ok());
  auto restored = load_or_create_key_file(path);
  ASSERT_TRUE(restored.ok()) << restored.error().message;
  EXPECT_EQ(*restored, *created) << "the same key, so the same card hashes";
}

TEST_F(SecretsTest, AKeyFileThatIsNot64HexDigitsIsRefusedNamingIt) {
  const auto path = (dir_ / "card-secret").string();
  for (const auto& [content, found] : std::vector<std::pair<std::string, std::string>>{
           {"", "found 0 characters;"},
           {"abc123\n", "found 6 characters;"},
           {std::string(64, 'g'), "found 64 characters, not all hex;"}}) {
    ASSERT_TRUE(write_secret_file(path, content).ok());
    auto r = load_or_create_key_file(path);
    ASSERT_FALSE(r.ok()) << content;
    EXPECT_NE(r.error().message.find("key file " + path +
                                     " must hold 64 hex digits (a 32-byte "
                                     "key), " +
                                     found),
              std::string::npos)
        << r.error().message;
  }
}

TEST_F(SecretsTest, AnExistingDirectoryKeepsItsModeAndOneOthersMayWriteIsRefused) {
  const auto shared = dir_ / "shared";
  std::filesystem::create_directory(shared);
  ASSERT_EQ(::chmod(shared.c_str(), 0755), 0);
  ASSERT_TRUE(ensure_private_dir(shared.string()).ok());
  struct stat st {};
  ASSERT_EQ(::stat(shared.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "an existing directory is not chmod-ed";

  ASSERT_EQ(::chmod(shared.c_str(), 01777), 0);  // like /tmp
  auto r = ensure_private_dir(shared.string());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "directory " + shared.string() +
                                   " is writable by group or others; use a private directory "
                                   "(chmod 700 it)");
  ASSERT_EQ(::stat(shared.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
}

TEST_F(SecretsTest, MissingDirectoriesAreMadePrivate) {
  const auto nested = dir_ / "a" / "b";
  ASSERT_TRUE(ensure_private_dir(nested.string()).ok());
  for (const auto& d : {dir_ / "a", nested}) {
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u) << d;
  }
}

}  // namespace
}  // namespace castellan
