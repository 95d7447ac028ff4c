#include "core/thread_name.hpp"

#include <pthread.h>

#include <array>

namespace castellan {

void name_this_thread(std::string_view name) {
  const std::string cut(name.substr(0, 15));
  (void)::pthread_setname_np(::pthread_self(), cut.c_str());
}

std::string this_thread_name() {
  std::array<char, 16> buf{};
  if (::pthread_getname_np(::pthread_self(), buf.data(), buf.size()) != 0) return {};
  return buf.data();
}

}  // namespace castellan
