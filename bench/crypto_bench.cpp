// The keyed hashes and random ids every swipe and API request pays for (core/crypto.cpp,
// core/ids.cpp), each with the OpenSSL one-shot call it replaced as the baseline of the same
// run: HMAC() and SHA256() look the algorithm up by name and allocate a context per call, and
// RAND_bytes() runs the DRBG (with a fork check) per call.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <string>

#include "core/crypto.hpp"
#include "core/ids.hpp"

namespace castellan {
namespace {

const std::string kKey(32, 'k');       // a card secret or door key
const std::string kData = "04a1b2c3";  // a card uid; a door message is ~150 bytes

void BM_HmacSha256(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(hmac_sha256(kKey, kData));
}
BENCHMARK(BM_HmacSha256);

void BM_HmacSha256_OpenSslOneShot(benchmark::State& state) {
  Digest out{};
  unsigned int len = 0;
  for (auto _ : state) {
    HMAC(EVP_sha256(), kKey.data(), static_cast<int>(kKey.size()),
         reinterpret_cast<const unsigned char*>(kData.data()), kData.size(), out.data(), &len);
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_HmacSha256_OpenSslOneShot);

void BM_Sha256Record(benchmark::State& state) {
  const std::string record(480, 'r');  // a journal decision line
  for (auto _ : state) benchmark::DoNotOptimize(sha256(record));
}
BENCHMARK(BM_Sha256Record);

void BM_Sha256Record_OpenSslOneShot(benchmark::State& state) {
  const std::string record(480, 'r');
  Digest out{};
  for (auto _ : state) {
    SHA256(reinterpret_cast<const unsigned char*>(record.data()), record.size(), out.data());
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_Sha256Record_OpenSslOneShot);

void BM_TraceId(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(new_trace_id());
}
BENCHMARK(BM_TraceId);

void BM_TraceId_RandBytesEach(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(to_hex(random_bytes(16)));
}
BENCHMARK(BM_TraceId_RandBytesEach);

}  // namespace
}  // namespace castellan

BENCHMARK_MAIN();
