// Fuzzes the resource codec behind POST and PATCH /v1/<collection> (access/codec.hpp, which reads
// fields with access/json_reader.hpp): the validation of a create body, then of a patch to what
// it created. The first byte picks the collection (modulo 9, in the order of kAllCollections:
// '0' sites ... '8' accounts); the rest is the create body, then optionally a newline and a
// patch body.
//
// Invariants: a prepared document is valid as stored (the snapshot decodes it again at every
// load), and an empty patch changes nothing (defaults and canonical times are already there).
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <boost/json.hpp>

#include "access/codec.hpp"
#include "access/model.hpp"
#include "api/replies.hpp"
#include "fuzz_check.hpp"

namespace {

namespace json = boost::json;
using namespace castellan::access;

// As the API reads a body, before the codec sees it: api::parse_object (at most 16 levels
// deep, every number finite, an object).
std::optional<json::value> parse_body(std::string_view text) {
  auto object = castellan::api::parse_object(text);
  if (!object) return std::nullopt;
  return json::value(std::move(*object));
}

void check_stored(Collection c, const json::object& doc) {
  FUZZ_CHECK(validate_document(c, doc).ok(), "a prepared document is valid as stored");
  auto unchanged = prepare_patch(c, doc, json::object{});
  FUZZ_CHECK(unchanged.ok(), "an empty patch of a stored document is accepted");
  FUZZ_CHECK(*unchanged == doc, "an empty patch changes nothing");
  (void)public_view(c, doc);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Collection c = kAllCollections[data[0] % std::size(kAllCollections)];
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t newline = rest.find('\n');
  const std::string_view create_text = rest.substr(0, newline);

  auto body = parse_body(create_text);
  if (!body) return 0;
  // Generated ids and door keys from a counter instead of the CSPRNG: an input always makes
  // the same documents, so a failing one fails again when it is run alone.
  std::uint8_t counter = 0;
  const CodecContext ctx{"fuzz-card-secret", [&counter](std::size_t n) {
                           std::string out(n, '\0');
                           for (char& byte : out) byte = static_cast<char>(++counter);
                           return out;
                         }};
  auto created = prepare_create(c, *body, ctx);
  if (!created) return 0;
  check_stored(c, *created);

  if (newline == std::string_view::npos) return 0;
  auto patch = parse_body(rest.substr(newline + 1));
  if (!patch) return 0;
  auto patched = prepare_patch(c, *created, *patch);
  if (!patched) return 0;
  check_stored(c, *patched);
  return 0;
}
