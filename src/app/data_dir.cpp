#include "app/data_dir.hpp"

#include "core/secrets.hpp"

namespace castellan::app {

Result<std::string> load_card_secret(const std::string& data_dir) {
  if (auto dir = ensure_private_dir(data_dir); !dir) return dir.error();
  return load_or_create_key_file(card_secret_path(data_dir));
}

}  // namespace castellan::app
