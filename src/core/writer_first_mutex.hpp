// A shared mutex that lets a waiting writer in before new readers.
//
// std::shared_mutex is a default pthread rwlock, which on glibc prefers readers: readers that
// keep overlapping (two operators paging through events) can keep a writer out for as long as
// they like. Where the writer is on a latency-critical path (the journal's acknowledging thread
// adds each durable batch to the index), it must win. Same interface as std::shared_mutex, so
// std::unique_lock / std::shared_lock work with it. Not recursive: a thread that holds it
// shared must not take it shared again (it would wait behind a waiting writer).
#pragma once

#include <pthread.h>

namespace castellan {

class WriterFirstMutex {
 public:
  WriterFirstMutex() {
    pthread_rwlockattr_t attr{};
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~WriterFirstMutex() { pthread_rwlock_destroy(&lock_); }
  WriterFirstMutex(const WriterFirstMutex&) = delete;
  WriterFirstMutex& operator=(const WriterFirstMutex&) = delete;

  void lock() { pthread_rwlock_wrlock(&lock_); }
  bool try_lock() { return pthread_rwlock_trywrlock(&lock_) == 0; }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_{};
};

}  // namespace castellan
