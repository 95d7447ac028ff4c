// The API's view of the rest of Castellan: small interfaces the HTTP handlers call. The lead
// wires the real store, decision engine, journal, devices and runtime objects to these in
// src/app (thin adapters); tests wire real classes where they exist and fakes elsewhere.
// Nothing here includes Asio or Beast.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.hpp"
#include "core/result.hpp"

namespace castellan::api {

// CRUD over the store's collections (sites, doors, users, cards, groups, schedules, holidays)
// with the store's validation. Bodies and results are the contract's JSON resources.
// Implementations may block (SQLite): the API calls them from its blocking pool.
class ResourcePort {
 public:
  virtual ~ResourcePort() = default;
  struct Page {
    boost::json::array items;
    std::optional<std::string> next_cursor;
  };
  // `actor`: the API username making the change.
  virtual Result<boost::json::object> create(std::string_view collection,
                                             const boost::json::object& body,
                                             std::string_view actor) = 0;
  virtual Result<boost::json::object> get(std::string_view collection, std::string_view id) = 0;
  virtual Result<Page> list(std::string_view collection, int limit, std::string_view cursor) = 0;
  virtual Result<boost::json::object> patch(std::string_view collection, std::string_view id,
                                            const boost::json::object& body,
                                            std::string_view actor) = 0;
  virtual Result<void> remove(std::string_view collection, std::string_view id,
                              std::string_view actor) = 0;
  // POST /v1/passes → {"id","card_hash","last4","uses_left"}.
  virtual Result<boost::json::object> issue_pass(const boost::json::object& body,
                                                 std::string_view actor) = 0;
  // The store's note of change `change_id` (store.hpp, "Unrecorded changes") is not needed any
  // more: its admin record is durable.
  virtual Result<void> forget_change(std::string_view change_id) = 0;
};

struct VerifyRequest {
  std::string site;
  std::string door;
  std::string card;  // raw hex uid as received; the port hashes it and never keeps it
  std::string dir;   // "in" | "out"
  std::string trace_id;
  std::string client_address;
  std::shared_ptr<ReplyClaim> claim;  // the request's (see http_types.hpp); may be null
};
struct VerifyOutcome {
  bool granted = false;
  Code code = Code::OK;
  std::int64_t latency_us = 0;
};

// POST /v1/verify: decide (DecisionEngine) and journal with source "api". `done` is called
// once, on any thread, after the record is durable (or with an error: 50301/50401).
class VerifyPort {
 public:
  virtual ~VerifyPort() = default;
  virtual void verify(const VerifyRequest& request,
                      std::function<void(Result<VerifyOutcome>)> done) = 0;
};

struct EventQuery {
  std::string door, user, kind, decision, from, to, cursor;
  int limit = 100;
};

// Journal records as their §5 export lines, in the journal's own encoding (the bytes it hashed:
// it reads a record and writes it again the same way), handed on as text and never parsed and
// printed by a JSON library, which may escape differently (byte 0x08 as \b) and so break the
// hash check of a copy taken from the API.
struct EventLines {
  std::vector<std::string> lines;
  std::string next_cursor;  // query(): the next page's cursor; empty: no more records
  bool more = false;        // after(): records beyond the last one given exist
};

// Journal access: query (GET /v1/events), live stream (SSE) and admin records.
class EventsPort {
 public:
  virtual ~EventsPort() = default;
  // One page of records matching `query`, newest first. May block.
  virtual Result<EventLines> query(const EventQuery& query) = 0;
  // Up to `max` records with a seq above `seq`, oldest first: what an event stream's client
  // missed since the last record it got. May block.
  virtual Result<EventLines> after(std::uint64_t seq, std::size_t max) = 0;
  // Calls `on_record` with each record's JSON line (§5) appended after this call, on any
  // thread, until the returned handle is destroyed. The callback must not block.
  class Subscription {
   public:
    virtual ~Subscription() = default;
  };
  virtual std::unique_ptr<Subscription> subscribe(
      std::function<void(std::string json_line)> on_record) = 0;
  // Journals a kind "admin" record: who (API username), what (action + details), trace id, and
  // waits (a bounded while) until it is durable, so that a change answered 2xx is on record
  // even after a crash. Runs on the blocking pool, never on an io thread. A record that cannot
  // be written, or is not durable in time, is logged whole, with why, and its error returned
  // (50301, or 50401 when it may still be written): the change is made by then and stays.
  virtual Result<void> record_admin(std::string_view who, const boost::json::object& what,
                                    std::string_view trace_id) = 0;
  // Whether the journal takes records now: false after a failed write (a full disk) until a
  // write succeeds again.
  virtual bool can_record() const = 0;
};

// Devices and doors (src/devices).
class DevicesPort {
 public:
  virtual ~DevicesPort() = default;
  // Each: {"id","status","last_heartbeat","fw","telemetry":{…}}.
  virtual boost::json::array list_devices() = 0;
  virtual std::optional<boost::json::object> device(std::string_view id) = 0;
  // {"lock","contact","beam","recent":[…],"failure_rate_24h","force_unlock_allowed","reason"};
  // 40401 for an unknown door.
  virtual Result<boost::json::object> door_assist(std::string_view door) = 0;
  // Door commands; `actor` is the operator's user name, journaled with the command. unlock
  // returns the duration sent (`duration_ms` 0: the door's unlock_ms).
  virtual Result<int> unlock(std::string_view door, int duration_ms, std::string_view reason,
                             std::string_view actor, std::string_view trace_id) = 0;
  virtual Result<void> lockdown(std::string_view door, std::string_view actor,
                                std::string_view trace_id) = 0;
  virtual Result<void> release(std::string_view door, std::string_view actor,
                               std::string_view trace_id) = 0;
  // Hex signing key of the door's controller.
  virtual Result<std::string> door_key(std::string_view door) = 0;
  // A new random signing key for the door (the old one no longer verifies); returns it (hex).
  virtual Result<std::string> rotate_door_key(std::string_view door, std::string_view actor) = 0;
  // Creates or rotates broker credentials → {"username","password"}. May block.
  virtual Result<boost::json::object> device_credentials(std::string_view device) = 0;
};

// Runtime: SLIs, the task dump, fault injection and Prometheus metrics of other modules.
class RuntimePort {
 public:
  virtual ~RuntimePort() = default;
  virtual boost::json::value sli_json() = 0;
  virtual boost::json::value tasks_json() = 0;
  // {"kind":"leak_tasks","count":N} etc.; 40001 for an unknown kind or bad field.
  virtual Result<void> inject_fault(const boost::json::object& fault) = 0;
  // Prometheus text of every registered metric (the API appends its own).
  virtual std::string render_metrics() = 0;
};

// /readyz: each dependency with its state.
struct ReadinessItem {
  std::string name;
  bool ready = false;
};
using ReadinessCheck = std::function<std::vector<ReadinessItem>()>;

}  // namespace castellan::api
