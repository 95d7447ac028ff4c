#include "core/crypto.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace castellan {
namespace {

std::string bytes(std::string_view hex) {
  return *from_hex(hex);
}

// RFC 4231 HMAC-SHA256 test vectors (cases 1–4, 6, 7; case 5 is truncated output).
struct Vector {
  std::string key_hex;
  std::string data;
  std::string expected;
};

TEST(Crypto, HmacSha256Rfc4231) {
  const std::vector<Vector> vectors = {
      {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"4a656665", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {std::string(40, 'a'), bytes(std::string(100, 'd')),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"0102030405060708090a0b0c0d0e0f10111213141516171819", std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {std::string(262, 'a'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {std::string(262, 'a'),
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& v : vectors) {
    EXPECT_EQ(to_hex(hmac_sha256(bytes(v.key_hex), v.data)), v.expected) << v.key_hex;
  }
}

// HMAC is built on two SHA-256 digests (crypto.cpp); OpenSSL's own HMAC() is the reference for
// every key length around the 64-byte block, where the key is padded or hashed first.
TEST(Crypto, HmacSha256MatchesOpenSslForKeysAroundTheBlockSize) {
  for (std::size_t key_len = 0; key_len <= 130; ++key_len) {
    std::string key(key_len, '\0');
    for (std::size_t i = 0; i < key_len; ++i) key[i] = static_cast<char>(i * 7 + 1);
    const std::string data(key_len * 3 + 1, static_cast<char>(key_len));
    Digest expected{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), expected.data(), &len);
    EXPECT_EQ(to_hex(hmac_sha256(key, data)), to_hex(expected)) << "key length " << key_len;
  }
}

TEST(Crypto, Sha256KnownAnswers) {
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, HexRoundTripAndErrors) {
  EXPECT_EQ(to_hex(std::string_view("\x00\x01\xab\xff", 4)), "0001abff");
  EXPECT_EQ(*from_hex("0001ABff"), std::string("\x00\x01\xab\xff", 4));
  EXPECT_FALSE(from_hex("abc").has_value());
  EXPECT_FALSE(from_hex("zz").has_value());
  EXPECT_EQ(*from_hex(""), "");
}

TEST(Crypto, RandomBytesDifferAndHaveLength) {
  const auto a = random_bytes(32);
  const auto b = random_bytes(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
}

}  // namespace
}  // namespace castellan
