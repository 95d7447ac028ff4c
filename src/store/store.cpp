#include "store/store.hpp"

namespace castellan::store {

Result<void> Store::insert(Collection c, const json::object& doc) {
  Write w{Write::Kind::insert, c, {}, doc};
  return apply(std::span<const Write>(&w, 1));
}

Result<void> Store::replace(Collection c, const json::object& doc) {
  Write w{Write::Kind::replace, c, {}, doc};
  return apply(std::span<const Write>(&w, 1));
}

Result<void> Store::remove(Collection c, std::string_view key) {
  Write w{Write::Kind::remove, c, std::string(key), {}};
  return apply(std::span<const Write>(&w, 1));
}

}  // namespace castellan::store
