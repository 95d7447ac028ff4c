#include "access/model.hpp"

namespace castellan::access {

std::string_view collection_name(Collection c) {
  switch (c) {
    case Collection::sites:
      return "sites";
    case Collection::doors:
      return "doors";
    case Collection::users:
      return "users";
    case Collection::cards:
      return "cards";
    case Collection::groups:
      return "groups";
    case Collection::schedules:
      return "schedules";
    case Collection::holidays:
      return "holidays";
    case Collection::passes:
      return "passes";
    case Collection::accounts:
      return "accounts";
  }
  return "unknown";
}

std::optional<Collection> collection_from_name(std::string_view name) {
  for (Collection c : kAllCollections) {
    if (collection_name(c) == name) return c;
  }
  return std::nullopt;
}

std::string_view key_field(Collection c) {
  return c == Collection::accounts ? "username" : "id";
}

std::string_view to_string(FailMode m) {
  return m == FailMode::safe ? "safe" : "secure";
}
std::string_view to_string(UserStatus s) {
  return s == UserStatus::suspended ? "suspended" : "active";
}
std::string_view to_string(CardStatus s) {
  switch (s) {
    case CardStatus::active:
      return "active";
    case CardStatus::revoked:
      return "revoked";
    case CardStatus::lost:
      return "lost";
  }
  return "active";
}
std::string_view to_string(Direction d) {
  return d == Direction::out ? "out" : "in";
}

}  // namespace castellan::access
