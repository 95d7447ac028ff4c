#include "core/ids.hpp"

#include <openssl/crypto.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <mutex>

#include "core/crypto.hpp"

namespace castellan {

bool is_valid_site_id(std::string_view id) {
  return !id.empty() && id.size() <= 32 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool is_valid_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
  });
}

std::optional<std::string> normalize_card_uid(std::string_view uid) {
  if (uid.size() < 8 || uid.size() > 32) return std::nullopt;
  std::string out(uid);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
  }
  return out;
}

namespace {

// Bumped in a forked child, so that its threads refill their buffers (below).
std::atomic<unsigned> fork_generation{0};

// 16 bytes from the CSPRNG for an identifier. Every API request and swipe takes a trace id, and
// one RAND_bytes call per id cost more than the request's own JSON parsing, so each thread
// draws 4 KiB at a time and hands it out. A forked child starts with a copy of its parent's
// buffer: it refills first, so parent and child never hand out the same ids.
std::string id_bytes() {
  static std::once_flag registered;
  std::call_once(registered,
                 [] { pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }); });
  constexpr std::size_t kRefill = 4096;
  constexpr std::size_t kId = 16;
  thread_local std::string pool;
  thread_local std::size_t used = 0;
  thread_local unsigned generation = 0;
  const unsigned now = fork_generation.load(std::memory_order_relaxed);
  if (pool.empty() || used + kId > pool.size() || generation != now) {
    pool = random_bytes(kRefill);
    used = 0;
    generation = now;
  }
  std::string out = pool.substr(used, kId);
  OPENSSL_cleanse(pool.data() + used, kId);  // an id's bytes are not kept after it is issued
  used += kId;
  return out;
}

}  // namespace

std::string new_trace_id() {
  while (true) {
    std::string id = to_hex(id_bytes());
    if (id != std::string(32, '0')) return id;  // all zeros is W3C's "invalid"
  }
}

std::string new_uuid_v4() {
  std::string b = id_bytes();
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string hex = to_hex(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace castellan
