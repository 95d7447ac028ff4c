#include "devices/sim/simulator.hpp"

#include <fmt/format.h>

#include <unordered_map>

#include "core/crypto.hpp"
#include "devices/outgoing.hpp"

namespace castellan::devices::sim {
namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// "castellan/v1/{site}/doors/{door}/{leaf}" -> door and leaf; false for anything else.
bool split_door_topic(std::string_view topic, std::string& door, std::string& leaf) {
  std::vector<std::string_view> parts;
  while (true) {
    auto slash = topic.find('/');
    parts.push_back(topic.substr(0, slash));
    if (slash == std::string_view::npos) break;
    topic = topic.substr(slash + 1);
  }
  if (parts.size() != 6 || parts[0] != "castellan" || parts[1] != "v1" || parts[3] != "doors") {
    return false;
  }
  door = std::string(parts[4]);
  leaf = std::string(parts[5]);
  return true;
}

}  // namespace

Simulator::Simulator(SimOptions options, const Clock& clock)
    : options_(std::move(options)),
      clock_(clock),
      run_id_(to_hex(random_bytes(3))),
      rng_(std::random_device{}()),
      scheduler_(clock) {
  if (!options_.door_ids.empty()) {
    door_ids_ = options_.door_ids;
  } else {
    for (int i = 1; i <= options_.doors; ++i)
      door_ids_.push_back(options_.door_prefix + std::to_string(i));
  }
  for (std::size_t i = 0; i < door_ids_.size(); ++i) {
    controller_ids_.push_back(i < options_.controller_ids.size()
                                  ? options_.controller_ids[i]
                                  : options_.controller_prefix + std::to_string(i + 1));
    door_index_[door_ids_[i]] = i;
  }
  if (!options_.sensor_ids.empty()) {
    sensor_ids_ = options_.sensor_ids;
  } else {
    for (int i = 1; i <= options_.sensors; ++i) {
      sensor_ids_.push_back(options_.sensor_prefix + std::to_string(i));
    }
  }
  all_devices_ = controller_ids_;
  all_devices_.insert(all_devices_.end(), sensor_ids_.begin(), sensor_ids_.end());
  door_models_.resize(door_ids_.size());
  generator_ = std::make_unique<SwipeGenerator>(options_, rng_());
}

Simulator::~Simulator() {
  stop();
}

std::string Simulator::topic(std::string_view kind, std::string_view entity,
                             std::string_view leaf) const {
  return fmt::format("castellan/v1/{}/{}/{}/{}", options_.site, kind, entity, leaf);
}

std::string Simulator::now_text() const {
  return format_utc(clock_.now());
}

MqttClient& Simulator::client_of(const std::string& device_id) {
  return *client_by_device_.at(device_id);
}

void Simulator::publish(const std::string& device_id, const std::string& t,
                        const std::string& payload) {
  if (!client_of(device_id).publish(t, payload).ok()) counters_.publish_failed.fetch_add(1);
}

Result<void> Simulator::connect_devices(milliseconds timeout) {
  const bool dedicated = static_cast<int>(all_devices_.size()) <= options_.max_clients;
  const std::size_t n_clients =
      dedicated ? all_devices_.size() : static_cast<std::size_t>(options_.max_clients);
  for (std::size_t c = 0; c < n_clients; ++c) {
    MqttOptions o;
    o.host = options_.host;
    o.port = options_.port;
    o.username = options_.username;
    o.password = options_.password;
    if (dedicated) {
      const std::string& id = all_devices_[c];
      o.client_id = "sim-" + run_id_ + "-" + id;
      o.will = MqttWill{topic("devices", id, "status"), "offline"};
      if (auto it = options_.device_credentials.find(id); it != options_.device_credentials.end()) {
        o.username = it->second.username;
        o.password = it->second.password;
      }
    } else {
      o.client_id = fmt::format("sim-{}-shared-{}", run_id_, c);
    }
    auto client = std::make_unique<MqttClient>(o);
    client->on_message([this](std::string_view t, std::string_view p, bool) { on_message(t, p); });
    if (auto r = client->start(); !r) return r;
    clients_.push_back(std::move(client));
  }
  for (std::size_t i = 0; i < all_devices_.size(); ++i) {
    client_by_device_[all_devices_[i]] = clients_[i % clients_.size()].get();
  }
  for (std::size_t i = 0; i < door_ids_.size(); ++i) {
    MqttClient& c = client_of(controller_ids_[i]);
    for (const char* leaf : {"decision", "command"}) {
      if (auto r = c.subscribe(topic("doors", door_ids_[i], leaf)); !r) return r;
    }
  }
  for (std::size_t c = 0; c < clients_.size(); ++c) {
    if (!clients_[c]->wait_connected(timeout)) {
      return make_error(Code::ERR_UNAVAILABLE,
                        fmt::format("simulator client {} could not connect to {}:{} within {} ms "
                                    "(broker down or credentials refused)",
                                    clients_[c]->options().client_id, options_.host, options_.port,
                                    timeout.count()));
    }
  }
  // Swipes sent before the decision subscription is in place would be answered into the void.
  // Counted per client in one pass: a loop over the doors for each door took minutes at
  // 100,000 doors.
  std::unordered_map<MqttClient*, std::pair<std::size_t, std::string>> subs_by_client;
  for (const auto& controller : controller_ids_) {
    auto& [count, first_controller] = subs_by_client[&client_of(controller)];
    if (count == 0) first_controller = controller;
    count += 2;  // decision and command
  }
  for (const auto& [client, subs] : subs_by_client) {
    if (!client->wait_subacks(subs.first, timeout)) {
      return make_error(Code::ERR_UNAVAILABLE,
                        "simulator: no SUBACK from the broker for " + subs.second);
    }
  }
  return {};
}

Result<void> Simulator::start(milliseconds connect_timeout) {
  if (started_) return make_error(Code::ERR_CONFLICT, "simulator already started");
  started_ = true;
  if (door_ids_.empty() && sensor_ids_.empty()) {
    return make_error(Code::ERR_BAD_REQUEST, "simulator needs at least one door or sensor");
  }
  if (options_.rate < 0) return make_error(Code::ERR_BAD_REQUEST, "swipe rate must be >= 0");
  if (auto r = connect_devices(connect_timeout); !r) return r;
  started_at_ = clock_.monotonic();
  for (std::size_t i = 0; i < door_ids_.size(); ++i) publish_door_state(i);
  scheduler_.start();
  schedule_device_traffic();
  if (options_.rate > 0 && !door_ids_.empty()) {
    swiping_ = true;
    pacer_ = std::thread([this] { pace_swipes(); });
  }
  return {};
}

void Simulator::pace_swipes() {
  const double interval_us = 1e6 / options_.rate;
  const auto begin = clock_.monotonic();
  std::uint64_t n = 0;
  std::size_t door = 0;
  while (swiping_.load()) {
    const auto now = clock_.monotonic();
    if (options_.duration.count() > 0 && now - begin >= options_.duration) break;
    // Send every swipe that is due (catches up after a slow iteration), then sleep briefly.
    while (swiping_.load()) {
      auto due =
          begin + microseconds(static_cast<std::int64_t>(static_cast<double>(n) * interval_us));
      if (due > now) break;
      if (options_.duration.count() > 0 && due - begin >= options_.duration) break;  // run is over
      send_swipe(door);
      door = (door + 1) % door_ids_.size();
      ++n;
    }
    auto next =
        begin + microseconds(static_cast<std::int64_t>(static_cast<double>(n) * interval_us));
    auto wait =
        std::min<std::chrono::steady_clock::duration>(next - clock_.monotonic(), milliseconds(5));
    if (wait > std::chrono::steady_clock::duration::zero()) std::this_thread::sleep_for(wait);
  }
  swiping_ = false;
}

void Simulator::send_swipe(std::size_t door_index) {
  const std::uint64_t seq = counters_.sent.load();
  std::string req = fmt::format("s{}-{}", run_id_, seq);
  SwipePlan plan = generator_->next(req, now_text());
  if (plan.expects_reply) {
    std::lock_guard lock(pending_mu_);
    pending_[req] = Pending{clock_.monotonic(), plan.kind, door_index};
  }
  counters_.sent.fetch_add(1);
  counters_.by_kind[static_cast<int>(plan.kind)].fetch_add(1);
  if (plan.expects_reply) counters_.expecting_reply.fetch_add(1);
  publish(controller_ids_[door_index], topic("doors", door_ids_[door_index], "swipe"),
          plan.payload);
}

void Simulator::on_message(std::string_view t, std::string_view payload) {
  std::string door, leaf;
  if (!split_door_topic(t, door, leaf) || !door_index_.contains(door)) {
    counters_.stray.fetch_add(1);
    return;
  }
  if (leaf == "decision") on_decision(door, payload);
  if (leaf == "command") on_command(door, payload);
}

void Simulator::on_decision(const std::string& door, std::string_view payload) {
  const auto received = clock_.monotonic();
  auto msg = parse_decision_message(payload);
  if (!msg) {
    counters_.stray.fetch_add(1);
    return;
  }
  Pending p;
  {
    std::lock_guard lock(pending_mu_);
    auto it = pending_.find(msg->req);
    if (it == pending_.end()) {
      if (expired_.erase(msg->req) > 0) {
        counters_.late.fetch_add(1);  // counted unanswered when it timed out
        return;
      }
      // Not ours, or an answer to a swipe without a usable req (the contract forbids that).
      bool ours = msg->req.starts_with("s" + run_id_ + "-");
      (ours ? counters_.replies_to_no_req : counters_.stray).fetch_add(1);
      return;
    }
    if (it->second.door != door_index_.at(door)) {
      counters_.stray.fetch_add(1);  // another door's decision topic: the swiping door got none
      return;
    }
    if (it->second.answered) {
      counters_.duplicate.fetch_add(1);
      return;
    }
    // Late whether or not the sweep (once a second) has marked it yet: an answer after
    // answer_timeout is unanswered, and its round trip is not a sample.
    if (!it->second.timed_out && received - it->second.sent > options_.answer_timeout) {
      it->second.timed_out = true;
      counters_.unanswered.fetch_add(1);
    }
    if (it->second.timed_out) {
      it->second.answered = true;
      counters_.late.fetch_add(1);
      return;
    }
    it->second.answered = true;
    p = it->second;
  }
  auto key = options_.door_keys.find(door);
  if (key == options_.door_keys.end()) {
    counters_.unverified.fetch_add(1);
    counters_.answered.fetch_add(1);
  } else {
    const SignedFields fields = signed_fields(options_.site, door, *msg);
    if (!signature_matches(key->second, fields, msg->sig)) {
      counters_.rejected_signature.fetch_add(1);
      return;
    }
    if (!verify_signed_message(key->second, fields, msg->sig, clock_.now()).ok()) {
      counters_.rejected_stale.fetch_add(1);
      return;
    }
    counters_.answered.fetch_add(1);
  }
  rtt_.add(static_cast<std::uint32_t>(
      std::min<std::int64_t>(duration_cast<microseconds>(received - p.sent).count(), UINT32_MAX)));
  // Contract §4: a grant is code 0, or a fail-safe door's 50301/50401; a deny has a code and
  // no unlock time. A decision that says otherwise is counted, and opens no door.
  const bool grant = msg->decision == "grant";
  const bool consistent = grant ? (msg->code == 0 || msg->code == 50301 || msg->code == 50401)
                                : (msg->code != 0 && msg->unlock_ms == 0);
  if (!consistent || !is_plausible_answer(p.kind, msg->code)) {
    counters_.unexpected_code.fetch_add(1);
  }
  {
    std::lock_guard lock(pending_mu_);
    codes_[msg->code]++;
  }
  if (grant && consistent) run_grant_sequence(door_index_.at(door), msg->unlock_ms);
}

void Simulator::on_command(const std::string& door, std::string_view payload) {
  counters_.commands.fetch_add(1);
  auto msg = parse_command_message(payload);
  auto key = options_.door_keys.find(door);
  if (!msg || key == options_.door_keys.end() ||
      !verify_signed_message(key->second, signed_fields(options_.site, door, *msg), msg->sig,
                             clock_.now())
           .ok()) {
    counters_.commands_rejected.fetch_add(1);
    return;
  }
  const std::size_t i = door_index_.at(door);
  if (msg->cmd == "unlock") {
    run_grant_sequence(i, msg->unlock_ms);
  } else if (msg->cmd == "lock" || msg->cmd == "lockdown") {
    {
      std::lock_guard lock(doors_mu_);
      door_models_[i].locked = true;
    }
    publish_door_state(i);
  }
}

void Simulator::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  swiping_ = false;
  if (pacer_.joinable()) pacer_.join();
  elapsed_us_at_stop_ = duration_cast<microseconds>(clock_.monotonic() - started_at_).count();
  // Give outstanding swipes their full answer time, then count the rest as unanswered.
  const auto deadline = clock_.monotonic() + options_.answer_timeout;
  while (clock_.monotonic() < deadline) {
    {
      std::lock_guard lock(pending_mu_);
      bool open = false;
      for (const auto& [req, p] : pending_) open = open || (!p.answered && !p.timed_out);
      if (!open) break;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
  {
    std::lock_guard lock(pending_mu_);
    for (auto& [req, p] : pending_) {
      if (!p.answered && !p.timed_out) {
        p.timed_out = true;
        counters_.unanswered.fetch_add(1);
      }
    }
  }
  scheduler_.stop();
  // The door steps still pending went with the scheduler: a door in the middle of a grant would
  // stay unlocked or open, and the server would raise a held_open alarm 30 s later for a door
  // nobody holds. A real door closes and relocks; these do so at once.
  for (std::size_t i = 0; i < door_models_.size(); ++i) {
    bool at_rest = true;
    {
      std::lock_guard lock(doors_mu_);
      const DoorModel& m = door_models_[i];
      at_rest = m.locked && !m.open && !m.beam_blocked;
      door_models_[i] = DoorModel{};
    }
    if (!at_rest) publish_door_state(i);
  }
  // A device that shuts down properly says so; the will covers the crash case.
  for (const auto& id : all_devices_) {
    if (client_by_device_.contains(id)) publish(id, topic("devices", id, "status"), "offline");
  }
  for (auto& c : clients_) c->stop();
}

SimReport Simulator::report() const {
  SimReport r;
  const auto& c = counters_;
  std::int64_t us = elapsed_us_at_stop_.load();
  if (us < 0)
    us = started_ ? duration_cast<microseconds>(clock_.monotonic() - started_at_).count() : 0;
  r.elapsed_s = static_cast<double>(us) / 1e6;
  r.sent = c.sent;
  r.expecting_reply = c.expecting_reply;
  r.answered = c.answered;
  r.rejected_signature = c.rejected_signature;
  r.rejected_stale = c.rejected_stale;
  r.unverified = c.unverified;
  r.unanswered = c.unanswered;
  r.late = c.late;
  r.duplicate_answers = c.duplicate;
  r.stray_answers = c.stray;
  r.unexpected_code = c.unexpected_code;
  r.replies_to_no_req = c.replies_to_no_req;
  r.publish_failed = c.publish_failed;
  r.heartbeats = c.heartbeats;
  r.telemetry = c.telemetry;
  r.state_changes = c.state_changes;
  r.forced_open = c.forced_open;
  r.held_open = c.held_open;
  r.commands = c.commands;
  r.commands_rejected = c.commands_rejected;
  for (int k = 0; k < kSwipeKinds; ++k)
    r.sent_by_kind[static_cast<std::size_t>(k)] = c.by_kind[static_cast<std::size_t>(k)];
  {
    std::lock_guard lock(pending_mu_);
    r.codes = codes_;
    for (const auto& [req, p] : pending_) r.pending += (!p.answered && !p.timed_out) ? 1 : 0;
  }
  r.rtt = rtt_.summary();
  return r;
}

}  // namespace castellan::devices::sim
