// Fuzzes the parsers of the messages castellan sends to controllers (outgoing.hpp): what
// `castellan sim` and a controller do with a decision or a command off the broker. The first
// byte picks the parser (even: decision, odd: command), the rest is the payload. A message that
// parses must serialize to one that parses to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "devices/outgoing.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace castellan::devices;

bool same(const DecisionMessage& a, const DecisionMessage& b) {
  return a.req == b.req && a.decision == b.decision && a.code == b.code &&
         a.unlock_ms == b.unlock_ms && a.exp == b.exp && a.sig == b.sig;
}

bool same(const CommandMessage& a, const CommandMessage& b) {
  return a.id == b.id && a.cmd == b.cmd && a.unlock_ms == b.unlock_ms && a.exp == b.exp &&
         a.sig == b.sig;
}

template <class Parse>
void round_trip(std::string_view payload, Parse parse) {
  auto parsed = parse(payload);
  if (!parsed) return;
  const std::string text = serialize(*parsed);
  auto again = parse(text);
  FUZZ_CHECK(again.ok(), "a serialized message parses");
  FUZZ_CHECK(same(*again, *parsed), "a message read back is the same message");
  FUZZ_CHECK(serialize(*again) == text, "serializing is a fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view payload(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 2 == 0) {
    round_trip(payload, parse_decision_message);
  } else {
    round_trip(payload, parse_command_message);
  }
  return 0;
}
