#include "core/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <initializer_list>
#include <new>
#include <stdexcept>

namespace castellan {

namespace {

// OpenSSL 3's one-shot SHA256() and HMAC() look the algorithm up by name on every call (a
// locked property query) and allocate a context each time; on the hot paths (a card hash per
// swipe, a signature per door message, a chain hash per journal record, a MAC per API token)
// that lookup cost more than the hashing. So SHA-256 is fetched once, each thread keeps one
// digest context, and HMAC (RFC 2104) is built from two digests of the padded key.
const EVP_MD* sha256_md() {
  static EVP_MD* const md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (fetched == nullptr) throw std::runtime_error("OpenSSL has no SHA256");
    return fetched;
  }();
  return md;
}

class DigestContext {
 public:
  DigestContext() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr) throw std::bad_alloc();
  }
  ~DigestContext() { EVP_MD_CTX_free(ctx_); }
  DigestContext(const DigestContext&) = delete;
  DigestContext& operator=(const DigestContext&) = delete;

  // SHA-256 over the concatenation of `parts`.
  Digest sha256(std::initializer_list<std::string_view> parts) {
    Digest out{};
    bool ok = EVP_DigestInit_ex2(ctx_, sha256_md(), nullptr) == 1;
    for (auto part : parts) ok = ok && EVP_DigestUpdate(ctx_, part.data(), part.size()) == 1;
    ok = ok && EVP_DigestFinal_ex(ctx_, out.data(), nullptr) == 1;
    if (!ok) throw std::runtime_error("SHA256 failed");
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

DigestContext& thread_digest() {
  thread_local DigestContext ctx;
  return ctx;
}

std::string_view view(const Digest& d) {
  return {reinterpret_cast<const char*>(d.data()), d.size()};
}

}  // namespace

Digest sha256(std::string_view data) {
  return thread_digest().sha256({data});
}

Digest hmac_sha256(std::string_view key, std::string_view data) {
  constexpr std::size_t kBlock = 64;  // SHA-256's block size
  std::array<char, kBlock> inner_pad{};
  std::array<char, kBlock> outer_pad{};
  Digest hashed_key{};
  if (key.size() > kBlock) {
    hashed_key = sha256(key);
    key = view(hashed_key);
  }
  for (std::size_t i = 0; i < kBlock; ++i) {
    const char k = i < key.size() ? key[i] : '\0';
    inner_pad[i] = static_cast<char>(k ^ 0x36);
    outer_pad[i] = static_cast<char>(k ^ 0x5c);
  }
  auto& digest = thread_digest();
  const Digest inner = digest.sha256({std::string_view(inner_pad.data(), kBlock), data});
  const Digest out = digest.sha256({std::string_view(outer_pad.data(), kBlock), view(inner)});
  OPENSSL_cleanse(inner_pad.data(), kBlock);
  OPENSSL_cleanse(outer_pad.data(), kBlock);
  OPENSSL_cleanse(hashed_key.data(), hashed_key.size());
  return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

namespace {
int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::optional<std::string> from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<char>((hi << 4) | lo);
  }
  return out;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace castellan
