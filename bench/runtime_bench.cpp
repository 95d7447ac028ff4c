// Runtime benchmarks (issue 7), each with its baseline in the same run:
//   * spawn + finish of a trivial coroutine through TaskGroup (registry entry, strand,
//     cancellation slot) vs a bare co_spawn(..., detached) on the same io_context, and a bare
//     co_spawn on a fresh strand (to show what the strand alone costs);
//   * one WaitMarker (enter + leave) with the system clock;
//   * the decision path with tracking on vs off, two ways:
//     - BM_Decide: DecisionEngine::decide() alone on a snapshot of 1,000 cards (the pure
//       in-memory decision, ~40 ns) vs the same plus what a tracked swipe handler adds (a
//       progress mark and two WaitMarkers: journal append, decision publish). The worst case:
//       the tracking cost against the cheapest step of the path;
//     - BM_SwipePath: the synchronous CPU work of one swipe on an io thread (parse the swipe
//       JSON, decide, HMAC-sign and serialise the decision), untracked vs tracked the same way.
//       The awaits themselves (journal fsync, MQTT publish) are left out: they only make the
//       path longer and the ratio smaller.
// Single io thread (the bench thread runs the io_context) so the figures are per-core costs.
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include <fmt/format.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include "access/codec.hpp"
#include "access/engine.hpp"
#include "access/pass_ledger.hpp"
#include "access/snapshot.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "runtime/task_group.hpp"
#include "runtime/wait_marker.hpp"

namespace {

using namespace castellan;
using namespace castellan::runtime;
namespace asio = boost::asio;

constexpr int kBatch = 1000;  // tasks spawned per io_context run

asio::awaitable<void> trivial_task(long* counter) {
  ++*counter;
  co_return;
}

void BM_SpawnFinish_TaskGroup(benchmark::State& state) {
  asio::io_context ioc(1);
  TaskRegistry registry(SystemClock::instance());
  TaskGroup group(registry, "bench");
  long counter = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) group.spawn(ioc.get_executor(), "t", trivial_task(&counter));
    ioc.restart();
    ioc.run();
  }
  if (registry.active_count() != 0) state.SkipWithError("tasks left behind");
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["ns_per_task"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SpawnFinish_TaskGroup);

void BM_SpawnFinish_BareCoSpawn(benchmark::State& state) {
  asio::io_context ioc(1);
  long counter = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) asio::co_spawn(ioc, trivial_task(&counter), asio::detached);
    ioc.restart();
    ioc.run();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["ns_per_task"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SpawnFinish_BareCoSpawn);

void BM_SpawnFinish_BareCoSpawnOnStrand(benchmark::State& state) {
  asio::io_context ioc(1);
  long counter = 0;
  for (auto _ : state) {
    for (int i = 0; i < kBatch; ++i) {
      asio::co_spawn(asio::make_strand(ioc), trivial_task(&counter), asio::detached);
    }
    ioc.restart();
    ioc.run();
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["ns_per_task"] =
      benchmark::Counter(static_cast<double>(state.iterations() * kBatch),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_SpawnFinish_BareCoSpawnOnStrand);

void BM_WaitMarker(benchmark::State& state) {
  TaskRegistry registry(SystemClock::instance());
  auto entry = registry.add("t", "bench", std::source_location::current(), {});
  TaskRef self(entry.get(), &SystemClock::instance());
  for (auto _ : state) {
    WaitMarker wait(self, "mqtt publish");
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_WaitMarker);

// A site with one door, 1,000 users and cards, all in one group granting the door.
struct DecisionFixture {
  access::PassUseLedger ledger;
  access::SnapshotHolder holder;
  std::vector<access::CardHash> cards;

  DecisionFixture() {
    access::Dataset data;
    data.sites["hq"] = access::Site{.id = "hq", .name = "HQ", .tz = "UTC"};
    data.doors["d1"] =
        access::Door{.id = "d1", .site = "hq", .name = "Main", .controller = "ctl-1"};
    access::Group staff{.id = "staff", .doors = {"d1"}};
    for (int i = 0; i < 1000; ++i) {
      const std::string uid = fmt::format("{:08x}", 0x04a1b2c3 + i);
      access::Card card;
      card.id = fmt::format("c{}", i);
      card.user = fmt::format("u{}", i);
      card.hash = access::card_hash_of("bench-secret", uid);
      card.last4 = uid.substr(uid.size() - 4);
      data.cards[card.id] = card;
      data.users[card.user] = access::User{.id = card.user, .name = "User"};
      staff.members.push_back(card.user);
      cards.push_back(card.hash);
    }
    data.groups["staff"] = staff;
    holder.publish(access::build_snapshot(data, ledger, 1));
  }
};

void BM_Decide(benchmark::State& state) {
  const bool tracked = state.range(0) != 0;
  DecisionFixture f;
  access::DecisionEngine engine(f.holder);
  TaskRegistry registry(SystemClock::instance());
  auto entry = registry.add("swipe handler", "devices", std::source_location::current(), {});
  TaskRef self(entry.get(), &SystemClock::instance());
  const TimePoint now = SystemClock::instance().now();
  std::size_t i = 0;
  long granted = 0;
  for (auto _ : state) {
    access::DecisionRequest req{.site = "hq",
                                .door = "d1",
                                .card_hash = f.cards[i++ % 1000],
                                .dir = access::Direction::in,
                                .now = now};
    if (tracked) {
      self.progress();
      auto r = engine.decide(req);
      {
        WaitMarker wait(self, "journal append");
        granted += r.granted;
      }
      {
        WaitMarker wait(self, "decision publish");
        benchmark::DoNotOptimize(r);
      }
    } else {
      auto r = engine.decide(req);
      granted += r.granted;
      benchmark::DoNotOptimize(r);
    }
  }
  if (granted != static_cast<long>(state.iterations())) state.SkipWithError("unexpected deny");
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(tracked ? "tracking on" : "tracking off");
}
BENCHMARK(BM_Decide)->Arg(0)->Arg(1);

void BM_SwipePath(benchmark::State& state) {
  const bool tracked = state.range(0) != 0;
  DecisionFixture f;
  access::DecisionEngine engine(f.holder);
  TaskRegistry registry(SystemClock::instance());
  auto entry = registry.add("swipe handler", "devices", std::source_location::current(), {});
  TaskRef self(entry.get(), &SystemClock::instance());
  const std::string door_key(32, 'k');
  std::vector<std::string> payloads;
  for (int i = 0; i < 1000; ++i) {
    payloads.push_back(fmt::format(
        R"({{"req":"r-{}","card_hash":"{}","dir":"in","ts":"2026-11-22T03:04:05.123Z"}})", i,
        to_hex(f.cards[static_cast<std::size_t>(i)])));
  }
  const TimePoint now = SystemClock::instance().now();
  std::size_t i = 0;
  long granted = 0;
  for (auto _ : state) {
    if (tracked) self.progress();
    const auto msg = boost::json::parse(payloads[i++ % 1000]).as_object();
    const auto hash_hex = msg.at("card_hash").as_string();
    access::CardHash hash{};
    const auto raw = from_hex(std::string_view(hash_hex.data(), hash_hex.size()));
    std::copy_n(raw->begin(), hash.size(), hash.begin());
    auto r = engine.decide(access::DecisionRequest{
        .site = "hq", .door = "d1", .card_hash = hash, .dir = access::Direction::in, .now = now});
    granted += r.granted;
    boost::json::object reply{{"req", msg.at("req")},
                              {"decision", access::decision_name(r.granted)},
                              {"code", static_cast<int>(r.code)},
                              {"exp", "2026-11-22T03:04:15.123Z"}};
    std::string body = boost::json::serialize(reply);
    if (tracked) {
      WaitMarker wait(self, "journal append");
      benchmark::DoNotOptimize(body);
    }
    reply["sig"] = to_hex(hmac_sha256(door_key, body));
    std::string out = boost::json::serialize(reply);
    if (tracked) {
      WaitMarker wait(self, "decision publish");
      benchmark::DoNotOptimize(out);
    } else {
      benchmark::DoNotOptimize(out);
    }
  }
  if (granted != static_cast<long>(state.iterations())) state.SkipWithError("unexpected deny");
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(tracked ? "tracking on" : "tracking off");
}
BENCHMARK(BM_SwipePath)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
