#include "devices/sim/echo_decider.hpp"

#include <thread>

#include "devices/outgoing.hpp"
#include "devices/payloads.hpp"
#include "devices/topics.hpp"

namespace castellan::devices::sim {

EchoDecider::EchoDecider(EchoOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock), client_(options_.mqtt) {}

Result<void> EchoDecider::start(std::chrono::milliseconds timeout) {
  client_.on_message([this](std::string_view t, std::string_view p, bool) { on_swipe(t, p); });
  if (auto r = client_.start(); !r) return r;
  if (auto r = client_.subscribe("castellan/v1/+/doors/+/swipe"); !r) return r;
  if (!client_.wait_connected(timeout) || !client_.wait_subacks(1, timeout)) {
    return make_error(Code::ERR_UNAVAILABLE, "echo decider could not connect and subscribe");
  }
  return {};
}

void EchoDecider::on_swipe(std::string_view topic, std::string_view payload) {
  auto t = parse_topic(topic);
  if (!t || t->kind != TopicKind::kSwipe) return;
  auto key = options_.door_keys.find(t->entity);
  if (key == options_.door_keys.end()) return;
  SwipeParse swipe = parse_swipe(payload);
  if (swipe.req.empty()) return;  // no usable req: no reply (contract §3)
  if (options_.delay.count() > 0) std::this_thread::sleep_for(options_.delay);
  bool grant = swipe.swipe.has_value();
  std::int64_t code = grant ? 0 : 40001;
  TimePoint exp = clock_.now() + options_.ttl;
  std::string door = t->entity;
  std::string signing_key = key->second;
  switch (options_.signing) {
    case EchoSigning::kCorrect:
      break;
    case EchoSigning::kWrongKey:
      signing_key = "not-the-door-key-" + signing_key;
      break;
    case EchoSigning::kExpired:
      exp = clock_.now() - std::chrono::seconds(30);
      break;
    case EchoSigning::kGrantWithDenyCode:
      grant = true;
      code = 40304;
      break;
    case EchoSigning::kOtherDoor: {
      auto next = std::next(key);
      if (next == options_.door_keys.end()) next = options_.door_keys.begin();
      door = next->first;
      signing_key = next->second;
      break;
    }
  }
  DecisionMessage m = make_decision_message(t->site, door, signing_key, swipe.req, grant, code,
                                            grant ? options_.unlock_ms : 0, exp);
  if (client_.publish(decision_topic(t->site, door), serialize(m)).ok()) answered_.fetch_add(1);
}

}  // namespace castellan::devices::sim
