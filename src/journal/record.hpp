// One journal record (contract §5) and its canonical text.
//
// The canonical form of a record is its export line: a compact JSON object with the §5 fields
// in a fixed order (seq, ts, kind, trace_id, site, door, req, card_hash, user, decision, code,
// source, gateway_ip, latency_us, then our extensions dir, pass and pass_use), then the members
// of `extra`, then prev and hash. Empty strings and absent optionals are omitted. `hash` = hex
// SHA-256 of that line *without* the hash member, so anyone holding an export can recompute the
// chain. The journal stores exactly this line on disk, so the bytes that are hashed are the bytes
// that are exported.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "core/time.hpp"

namespace castellan::journal {

enum class RecordKind : std::uint8_t {
  decision,
  door_state,
  device_online,
  device_offline,
  force_unlock,
  lockdown,
  door_alarm,
  admin,
  resilience,
  task_leak,
};

// "decision", "door_state", ...
std::string_view kind_name(RecordKind kind);
// The kind for a name; nullopt if it names none.
std::optional<RecordKind> parse_kind(std::string_view name);

// hex SHA-256 of nothing at all: the `prev` of the very first record ("000…0", 64 zeros).
const std::string& genesis_hash();

struct JournalRecord {
  std::uint64_t seq = 0;  // assigned by the writer
  TimePoint ts{};         // epoch (default) = the writer stamps clock.now(); kept to milliseconds
  RecordKind kind = RecordKind::decision;
  std::string trace_id;
  std::string site;
  std::string door;
  std::string req;  // the swipe's req (MQTT); empty = absent (API)
  std::string card_hash;
  std::string user;
  std::string decision;  // "grant" | "deny" | empty
  std::optional<int> code;
  std::string source;  // "mqtt", "api", ...
  std::string gateway_ip;
  std::optional<std::int64_t> latency_us;
  std::string dir;  // a decision's swipe direction, "in" | "out" (extension of §5)
  // A grant a temporary pass made (extension of §5): the pass's id and the use it took
  // (1 = its first), so that a use the store had not saved yet is recovered at start.
  std::string pass;
  std::optional<std::int64_t> pass_use;
  // Additional members as the text of a JSON object ("" = none), e.g. for admin records
  // {"actor":"admin","action":"create","collection":"doors","id":"d1"}. Its members are
  // merged into the export line (and covered by the hash); they may not reuse a §5 name.
  std::string extra;
  std::string prev;  // hex SHA-256 of the previous record (set by the writer)
  std::string hash;  // hex SHA-256 of this record (set by the writer)

  bool operator==(const JournalRecord&) const = default;
};

// Checks what an appender controls: UTF-8 strings, `extra` a JSON object without §5 names.
// On success `extra` is rewritten in compact canonical form (so the stored bytes are stable).
Result<void> validate_and_normalize(JournalRecord& record);

// The export line, without a trailing newline.
std::string to_json_line(const JournalRecord& record);

// The export line without the hash member: the bytes the hash covers.
std::string canonical_bytes(const JournalRecord& record);

// hex SHA-256 of canonical_bytes(record).
std::string compute_hash(const JournalRecord& record);

// The members an appender controls, encoded as they appear in the line: `,"kind":…`
// through the members of `extra` (everything between ts and prev). Journal::append encodes
// them on the appender's thread, so the writer's serial part is only seq, ts, prev and the
// chain hash.
std::string encode_members(const JournalRecord& record);

// seq, ts, prev and hash with their names and punctuation add at most this many bytes to the
// encoded members (20 digits, a 24-character ts, two 64-hex hashes, ≈ 40 of names).
inline constexpr std::size_t kSealedLineOverhead = 256;

// The writer's per-record step: sets record.hash = compute_hash(record) and returns
// to_json_line(record). `members` = encode_members(record), computed earlier.
std::string seal(JournalRecord& record, std::string_view members);
// The same, encoding the members here.
std::string seal(JournalRecord& record);

// Parses an export line back into a record. Fails (40001, with the reason) on anything that
// is not a well-formed record line.
Result<JournalRecord> parse_json_line(std::string_view line);

}  // namespace castellan::journal
