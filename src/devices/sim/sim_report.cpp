#include "devices/sim/sim_report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace castellan::devices::sim {

void LatencyRecorder::add(std::uint32_t us) {
  std::lock_guard lock(mu_);
  samples_.push_back(us);
}

LatencyRecorder::Summary LatencyRecorder::summary() const {
  std::vector<std::uint32_t> s;
  {
    std::lock_guard lock(mu_);
    s = samples_;
  }
  Summary out;
  out.count = s.size();
  if (s.empty()) return out;
  auto at = [&](double q) {  // nearest rank: the smallest sample with q of them at or below it
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(s.size())));
    const std::size_t idx = std::max<std::size_t>(rank, 1) - 1;
    std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(idx), s.end());
    return static_cast<double>(s[idx]);
  };
  out.p50_us = at(0.50);
  out.p99_us = at(0.99);
  out.max_us = static_cast<double>(*std::max_element(s.begin(), s.end()));
  return out;
}

std::string format_progress(const SimReport& r) {
  return fmt::format(
      "sim: t={:.1f}s sent={} answered={} rejected={} unanswered={} pending={} rtt p50={:.2f}ms "
      "p99={:.2f}ms max={:.2f}ms",
      r.elapsed_s, r.sent, r.answered, r.rejected_signature + r.rejected_stale, r.unanswered,
      r.pending, r.rtt.p50_us / 1000, r.rtt.p99_us / 1000, r.rtt.max_us / 1000);
}

std::uint64_t SimReport::refused() const {
  std::uint64_t n = 0;
  for (const auto& [code, count] : codes) {
    if (code >= 50000 || code == 42901) n += count;
  }
  return n;
}

std::string format_summary(const SimReport& r) {
  std::string out = fmt::format("castellan sim summary ({:.1f} s)\n", r.elapsed_s);
  out += fmt::format(
      "  swipes sent        {} ({:.0f}/s)  valid={} unknown={} expired={} malformed={}\n", r.sent,
      r.elapsed_s > 0 ? static_cast<double>(r.sent) / r.elapsed_s : 0.0, r.sent_by_kind[0],
      r.sent_by_kind[1], r.sent_by_kind[2], r.sent_by_kind[3]);
  out += fmt::format("  expecting a reply  {}\n", r.expecting_reply);
  out += fmt::format("  answered           {} ({} not verified: no key for the door)\n", r.answered,
                     r.unverified);
  out += fmt::format("  unanswered         {}  (late {})\n", r.unanswered, r.late);
  out += fmt::format("  rejected           bad signature {}, stale/ttl {}\n", r.rejected_signature,
                     r.rejected_stale);
  out += fmt::format(
      "  anomalies          duplicate {}, stray {}, reply to no-req {}, unexpected code {}\n",
      r.duplicate_answers, r.stray_answers, r.replies_to_no_req, r.unexpected_code);
  std::string codes;
  for (const auto& [code, n] : r.codes) codes += fmt::format(" {}:{}", code, n);
  out += fmt::format("  decision codes    {}\n", codes.empty() ? " -" : codes);
  out += fmt::format("  refused by server  {}  (5xxxx or 42901 answers)\n", r.refused());
  out += fmt::format("  round trip         p50 {:.3f} ms  p99 {:.3f} ms  max {:.3f} ms  (n={})\n",
                     r.rtt.p50_us / 1000, r.rtt.p99_us / 1000, r.rtt.max_us / 1000, r.rtt.count);
  out += fmt::format(
      "  device traffic     heartbeats {}, telemetry {}, door states {} (forced open {}, held open "
      "{})\n",
      r.heartbeats, r.telemetry, r.state_changes, r.forced_open, r.held_open);
  out += fmt::format("  commands           {} received, {} rejected\n", r.commands,
                     r.commands_rejected);
  out += fmt::format("  publish failures   {}\n", r.publish_failed);
  return out;
}

}  // namespace castellan::devices::sim
