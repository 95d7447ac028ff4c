#include "runtime/blocking_pool.hpp"

#include <algorithm>

namespace castellan::runtime {

BlockingPool::BlockingPool(int threads) : pool_(static_cast<std::size_t>(std::max(1, threads))) {}

BlockingPool::~BlockingPool() {
  join();
}

void BlockingPool::join() {
  pool_.join();
}

}  // namespace castellan::runtime
