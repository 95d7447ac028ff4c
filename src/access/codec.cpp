// Create/patch preparation and public rendering of resource documents.
#include "access/codec.hpp"

#include "access/json_reader.hpp"
#include "core/crypto.hpp"
#include "core/ids.hpp"
#include "core/time.hpp"

namespace castellan::access {

namespace {

std::string random_hex(const CodecContext& ctx, std::size_t bytes) {
  return to_hex(ctx.random ? ctx.random(bytes) : random_bytes(bytes));
}

// Fields that a client may not send (they are derived or secret).
std::vector<std::string_view> server_fields(Collection c) {
  switch (c) {
    case Collection::cards:
    case Collection::passes:
      return {"card_hash", "last4"};
    case Collection::doors:
      return {"key"};
    default:
      return {};
  }
}

// Fields a patch may not change at all.
std::vector<std::string_view> fixed_fields(Collection c) {
  switch (c) {
    case Collection::cards:
      return {"uid", "card_hash", "last4"};
    case Collection::passes:
      return {"card", "card_hash", "last4"};
    case Collection::doors:
      return {"key"};
    default:
      return {};
  }
}

// Replaces the raw uid under `uid_field` by card_hash + last4.
Result<void> hash_card_field(json::object& doc, std::string_view uid_field,
                             std::string_view card_secret) {
  JsonReader r(doc);
  std::string uid = r.string(uid_field);
  if (!r.ok()) return r.error();
  auto norm = normalize_card_uid(uid);
  if (!norm) {
    // Never echo the uid: it is a credential.
    return make_error(Code::ERR_BAD_REQUEST,
                      "field '" + std::string(uid_field) + "' must be 8-32 hex digits");
  }
  doc.erase(uid_field);
  doc["card_hash"] = to_hex(card_hash_of(card_secret, *norm));
  doc["last4"] = norm->substr(norm->size() - 4);
  return {};
}

// Writes out the defaults of optional fields so stored documents are complete.
void fill_defaults(Collection c, json::object& doc) {
  auto set = [&doc](std::string_view k, json::value v) {
    if (auto* e = doc.if_contains(k); e == nullptr || e->is_null()) doc[k] = std::move(v);
  };
  switch (c) {
    case Collection::sites:
      set("apb_reset_hours", 12);
      set("lockdown", false);
      break;
    case Collection::doors:
      set("unlock_ms", 5000);
      set("held_open_s", 30);
      set("fail_mode", "secure");
      set("apb", false);
      set("lockdown", false);
      break;
    case Collection::users:
    case Collection::cards:
      set("status", "active");
      break;
    case Collection::groups:
      set("members", json::array{});
      break;
    case Collection::schedules:
      set("holiday_windows", json::array{});
      break;
    default:
      break;
  }
}

}  // namespace

CardHash card_hash_of(std::string_view card_secret, std::string_view normalized_uid) {
  return hmac_sha256(card_secret, normalized_uid);
}

std::optional<CardHash> card_hash_from_uid(std::string_view card_secret, std::string_view uid) {
  auto norm = normalize_card_uid(uid);
  if (!norm) return std::nullopt;
  return card_hash_of(card_secret, *norm);
}

std::optional<CardHash> parse_card_hash(std::string_view hex) {
  auto bytes = from_hex(hex);
  CardHash h{};
  if (!bytes || bytes->size() != h.size()) return std::nullopt;
  std::copy(bytes->begin(), bytes->end(), h.begin());
  return h;
}

std::string document_key(Collection c, const json::object& doc) {
  auto* v = doc.if_contains(key_field(c));
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<void> validate_document(Collection c, const json::object& doc) {
  auto check = [](const auto& r) -> Result<void> {
    if (!r) return r.error();
    return {};
  };
  switch (c) {
    case Collection::sites:
      return check(decode_site(doc));
    case Collection::doors:
      return check(decode_door(doc));
    case Collection::users:
      return check(decode_user(doc));
    case Collection::cards:
      return check(decode_card(doc));
    case Collection::groups:
      return check(decode_group(doc));
    case Collection::schedules:
      return check(decode_schedule(doc));
    case Collection::holidays:
      return check(decode_holiday(doc));
    case Collection::passes:
      return check(decode_pass(doc));
    case Collection::accounts:
      return validate_account(doc);
  }
  return make_error(Code::ERR_BAD_REQUEST, "unknown collection");
}

namespace {

// Validity times are kept as Castellan writes every time: UTC, `Z`, milliseconds (contract §2),
// so what GET shows is what the engine decides on. Called once the document is valid.
void canonical_times(Collection c, json::object& doc) {
  if (c != Collection::cards && c != Collection::passes) return;
  for (const char* field : {"valid_from", "valid_until"}) {
    auto* v = doc.if_contains(field);
    if (v == nullptr || !v->is_string()) continue;
    if (auto t = parse_utc(v->get_string()); t) *v = format_utc(*t);
  }
}

}  // namespace

Result<json::object> prepare_create(Collection c, const json::value& body,
                                    const CodecContext& ctx) {
  if (!body.is_object()) return make_error(Code::ERR_BAD_REQUEST, "body must be a JSON object");
  json::object doc = body.get_object();
  for (std::string_view f : server_fields(c)) {
    if (doc.contains(f)) {
      return make_error(Code::ERR_BAD_REQUEST,
                        "field '" + std::string(f) + "' is set by the server and cannot be sent");
    }
  }
  if (c == Collection::cards || c == Collection::passes) {
    if (auto* id = doc.if_contains("id"); id == nullptr || id->is_null()) {
      doc["id"] = (c == Collection::cards ? "c-" : "p-") + random_hex(ctx, 8);
    }
    auto hashed = hash_card_field(doc, c == Collection::cards ? "uid" : "card", ctx.card_secret);
    if (!hashed) return hashed.error();
  }
  if (c == Collection::doors) doc["key"] = random_hex(ctx, 32);
  fill_defaults(c, doc);
  auto valid = validate_document(c, doc);
  if (!valid) return valid.error();
  canonical_times(c, doc);
  return doc;
}

Result<json::object> prepare_patch(Collection c, const json::object& stored,
                                   const json::value& patch) {
  if (!patch.is_object()) return make_error(Code::ERR_BAD_REQUEST, "body must be a JSON object");
  const json::object& p = patch.get_object();
  std::string_view key = key_field(c);
  json::object doc = stored;
  for (const auto& [k, v] : p) {
    if (k == key) {
      const json::value* old = stored.if_contains(key);
      if (old == nullptr || *old != v) {
        return make_error(Code::ERR_BAD_REQUEST,
                          "field '" + std::string(key) + "' cannot be changed");
      }
      continue;
    }
    for (std::string_view f : fixed_fields(c)) {
      if (k == f) {
        return make_error(Code::ERR_BAD_REQUEST, "field '" + std::string(f) +
                                                     "' cannot be changed (create a new one "
                                                     "instead)");
      }
    }
    if (v.is_null()) {
      doc.erase(k);
    } else {
      doc[k] = v;
    }
  }
  fill_defaults(c, doc);
  auto valid = validate_document(c, doc);
  if (!valid) return valid.error();
  canonical_times(c, doc);
  return doc;
}

json::object public_view(Collection c, const json::object& stored) {
  json::object out = stored;
  if (c == Collection::doors) out.erase("key");
  if (c == Collection::accounts) {
    out.erase("password_hash");
    out.erase("password");
  }
  return out;
}

}  // namespace castellan::access
