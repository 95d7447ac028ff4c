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

}  // namespace
}  // namespace castellan
