// Where things live inside the data directory, shared by `server` and `demo`.
#pragma once

#include <string>

#include "core/result.hpp"

namespace castellan::store {
class Store;
}

namespace castellan::app {

inline std::string card_secret_path(const std::string& data_dir) {
  return data_dir + "/card-secret";
}
inline std::string admin_password_path(const std::string& data_dir) {
  return data_dir + "/admin-password";
}

// The installation's card secret (contract §2): 32 random bytes, hex, created at first start
// with mode 0600. One secret for every site, so a card works everywhere.
Result<std::string> load_card_secret(const std::string& data_dir);

// Same, for a start over a store that may already hold card hashes: a missing secret is created
// only while the store holds no card and no pass. Otherwise the start is refused, because a
// new secret would change every card hash and every card would be denied 40304.
Result<std::string> load_card_secret(const std::string& data_dir, store::Store& store);

}  // namespace castellan::app
