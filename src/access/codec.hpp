// JSON codec of the resources: validates create and patch bodies (precise 40001 messages that
// name the field), turns them into the stored document, decodes stored documents into the typed
// model, and renders the public JSON. Stored documents keep every extra field the client sent.
//
// Flow for a create:   body --prepare_create--> stored doc --decode_*--> typed (checks again)
// Flow for a patch:    stored doc + patch --prepare_patch--> new stored doc (fully re-validated)
// Responses:           stored doc --public_view--> JSON without secrets (door key, password hash)
#pragma once

#include <boost/json.hpp>

#include <functional>
#include <string>
#include <string_view>

#include "access/model.hpp"
#include "core/result.hpp"

namespace castellan::access {

namespace json = boost::json;

// What a create needs besides the body: the installation's card secret (card and pass uids are
// hashed, never stored) and a source of randomness for generated ids and door keys.
struct CodecContext {
  std::string_view card_secret;
  // Returns n random bytes; defaults to core's CSPRNG when empty.
  std::function<std::string(std::size_t)> random;
};

// HMAC-SHA256(card_secret, uid) for an already normalized (lower-case hex) uid.
CardHash card_hash_of(std::string_view card_secret, std::string_view normalized_uid);
// Normalizes a raw uid (8-32 hex digits, any case) and hashes it; nullopt if it is not a uid.
std::optional<CardHash> card_hash_from_uid(std::string_view card_secret, std::string_view uid);
// 64 hex digits -> hash; nullopt otherwise.
std::optional<CardHash> parse_card_hash(std::string_view hex);

// Validates a create body and returns the document to store. Cards and passes: `uid`/`card`
// is replaced by `card_hash` + `last4`; a missing card/pass id is generated. Doors: a random
// 32-byte `key` (hex) is added and `lockdown` defaults to false. Defaults of optional fields
// are written out so that the stored document is complete.
Result<json::object> prepare_create(Collection c, const json::value& body, const CodecContext& ctx);

// Applies a patch (top-level merge: a field set to null is removed) to a stored document and
// re-validates the result. The key field, card/pass hashes, `uid` and the door key cannot be
// changed (40001 naming the field).
Result<json::object> prepare_patch(Collection c, const json::object& stored,
                                   const json::value& patch);

// Validation + decoding of stored documents (also used on prepared documents).
Result<Site> decode_site(const json::object& doc);
Result<Door> decode_door(const json::object& doc);
Result<User> decode_user(const json::object& doc);
Result<Card> decode_card(const json::object& doc);
Result<Group> decode_group(const json::object& doc);
Result<Schedule> decode_schedule(const json::object& doc);
Result<Holiday> decode_holiday(const json::object& doc);
Result<Pass> decode_pass(const json::object& doc);
// Accounts: {username, password_hash, role in admin|operator|auditor}.
Result<void> validate_account(const json::object& doc);
// Validates any stored document of a collection.
Result<void> validate_document(Collection c, const json::object& doc);

// The key ("id" or "username") of a stored document; empty if absent.
std::string document_key(Collection c, const json::object& doc);

// The document as shown by the API: door `key` and account `password_hash` removed.
json::object public_view(Collection c, const json::object& stored);

// "HH:MM" (00:00..24:00) -> minutes; nullopt on anything else (e.g. "25:00", "9:00").
std::optional<int> parse_hhmm(std::string_view text);
// "mon".."sun" -> c_encoding (0 = sun); nullopt for an unknown day.
std::optional<unsigned> parse_day(std::string_view text);

}  // namespace castellan::access
