#include "app/data_dir.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "core/secrets.hpp"
#include "store/store.hpp"

namespace castellan::app {

Result<std::string> load_card_secret(const std::string& data_dir) {
  if (auto dir = ensure_private_dir(data_dir); !dir) return dir.error();
  return load_or_create_key_file(card_secret_path(data_dir));
}

Result<std::string> load_card_secret(const std::string& data_dir, store::Store& store) {
  const std::string path = card_secret_path(data_dir);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    for (auto c : {store::Collection::cards, store::Collection::passes}) {
      auto page = store.list(c, "", 1);
      if (!page) return page.error();
      if (!page->items.empty()) {
        return make_error(Code::ERR_UNAVAILABLE,
                          path +
                              " is missing, but the store holds cards or passes hashed with "
                              "it; restore it from a backup (a new secret would deny every "
                              "card)");
      }
    }
  }
  return load_card_secret(data_dir);
}

}  // namespace castellan::app
