// TaskGroup implementation. Each child owns a strand (all of its resumptions run there), a
// cancellation_signal bound to its co_spawn, and its registry entry. Cancellation is posted to
// the child's strand, so signal.emit() never races with the child installing a slot handler.
// The child's bookkeeping lives in a ChildGuard that is a *parameter* of the wrapper coroutine:
// parameters live in the frame from the call on, so the guard runs even when the frame is
// destroyed before it ever started (io_context destroyed with the spawn still queued).
#include "runtime/task_group.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/log.hpp"

namespace castellan::runtime {
namespace {

using Strand = asio::strand<asio::any_io_executor>;
using DrainChannel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

struct Child {
  explicit Child(Strand s) : strand(std::move(s)) {}
  Strand strand;
  asio::cancellation_signal signal;
  std::shared_ptr<TaskEntry> entry;
  std::atomic<bool> done{false};
  // Set before a cancellation is posted: one that reaches the strand before the co_spawn (the
  // group was closed just after it registered the child) is then emitted again after it.
  std::atomic<bool> cancel_requested{false};
};

}  // namespace

struct TaskGroup::State {
  State(TaskRegistry& r, std::string n) : registry(r), name(std::move(n)) {}

  TaskRegistry& registry;
  const std::string name;
  mutable std::mutex mu;
  bool closed = false;
  std::unordered_map<TaskId, std::shared_ptr<Child>> children;
  std::condition_variable drained;
  std::vector<std::shared_ptr<DrainChannel>> waiters;

  void finished(TaskId id) {
    std::vector<std::shared_ptr<DrainChannel>> wake;
    {
      std::lock_guard lock(mu);
      children.erase(id);
      if (!children.empty()) return;
      wake.swap(waiters);
      drained.notify_all();
    }
    for (auto& ch : wake) ch->try_send(boost::system::error_code{});
  }

  void cancel_children() {
    std::vector<std::shared_ptr<Child>> targets;
    {
      std::lock_guard lock(mu);
      targets.reserve(children.size());
      for (const auto& [id, c] : children) targets.push_back(c);
    }
    for (auto& c : targets) {
      c->cancel_requested.store(true);
      asio::post(c->strand, [c] {
        if (!c->done.load()) c->signal.emit(asio::cancellation_type::terminal);
      });
    }
  }

  void log_remaining() const {
    std::lock_guard lock(mu);
    for (const auto& [id, c] : children) {
      spdlog::error("task group '{}': task '{}' spawned at {} did not finish after cancellation",
                    name, c->entry->name, c->entry->spawn_site);
    }
  }
};

namespace {

// Unregisters the child when the wrapper frame is destroyed, however that happens.
class ChildGuard {
 public:
  ChildGuard(std::shared_ptr<TaskGroup::State> state, std::shared_ptr<Child> child)
      : state_(std::move(state)), child_(std::move(child)) {}
  ChildGuard(ChildGuard&& other) noexcept = default;
  ChildGuard& operator=(ChildGuard&&) = delete;
  ~ChildGuard() {
    if (!child_) return;
    child_->done.store(true);
    const TaskId id = child_->entry->id;
    state_->registry.remove(id);
    state_->finished(id);
  }
  const TaskEntry& entry() const { return *child_->entry; }
  TaskRef ref() const { return TaskRef{child_->entry.get(), &state_->registry.clock()}; }

 private:
  std::shared_ptr<TaskGroup::State> state_;
  std::shared_ptr<Child> child_;
};

asio::awaitable<void> run_child(ChildGuard guard, TaskGroup::Body body,
                                asio::awaitable<void> task) {
  const TaskEntry& e = guard.entry();
  try {
    if (body) {
      // Named locals, not temporaries, across the co_await: g++ 12 mis-handles temporaries
      // in a co_await expression (ASan reports a stack-buffer-overflow on the TaskRef).
      const TaskRef self = guard.ref();
      asio::awaitable<void> running = body(self);
      co_await std::move(running);
    } else {
      co_await std::move(task);
    }
  } catch (const boost::system::system_error& ex) {
    if (ex.code() == asio::error::operation_aborted) {
      spdlog::debug("task '{}' ({}) spawned at {} cancelled", e.name, e.group, e.spawn_site);
    } else {
      spdlog::error("task '{}' ({}) spawned at {} failed: {}", e.name, e.group, e.spawn_site,
                    ex.what());
    }
  } catch (const std::exception& ex) {
    spdlog::error("task '{}' ({}) spawned at {} failed: {}", e.name, e.group, e.spawn_site,
                  ex.what());
  } catch (...) {
    spdlog::error("task '{}' ({}) spawned at {} failed with a non-standard exception", e.name,
                  e.group, e.spawn_site);
  }
}

TaskId spawn_child(const std::shared_ptr<TaskGroup::State>& state,
                   const asio::any_io_executor& executor, std::string name, TaskGroup::Body body,
                   asio::awaitable<void> task, TaskOptions options,
                   const std::source_location& loc) {
  auto child = std::make_shared<Child>(asio::make_strand(executor));
  {
    std::lock_guard lock(state->mu);
    if (state->closed) {
      spdlog::warn("task group '{}' is closed: task '{}' from {} not started", state->name, name,
                   format_spawn_site(loc));
      return 0;
    }
    child->entry = state->registry.add(std::move(name), state->name, loc, options);
    state->children.emplace(child->entry->id, child);
  }
  const TaskId id = child->entry->id;
  // co_spawn installs its handler into the child's cancellation slot; cancel_children() emits
  // on the child's strand. Doing the co_spawn on that strand too keeps the two serialised.
  // The posted handler owns the wrapper frame, so if it never runs (io_context destroyed) the
  // frame, and with it the ChildGuard, is destroyed with the handler.
  asio::post(child->strand, [child, frame = run_child(ChildGuard(state, child), std::move(body),
                                                      std::move(task))]() mutable {
    // The completion handler keeps the child (and so its signal, which the finished
    // coroutine's cancellation state still points into) alive until a later strand turn.
    auto on_done = [child](std::exception_ptr) { asio::post(child->strand, [child] {}); };
    asio::co_spawn(child->strand, std::move(frame),
                   asio::bind_cancellation_slot(child->signal.slot(), std::move(on_done)));
    if (child->cancel_requested.load() && !child->done.load()) {
      child->signal.emit(asio::cancellation_type::terminal);
    }
  });
  return id;
}

}  // namespace

TaskGroup::TaskGroup(TaskRegistry& registry, std::string name)
    : state_(std::make_shared<State>(registry, std::move(name))) {}

TaskGroup::~TaskGroup() {
  close_blocking(kDestructorTimeout);
}

TaskId TaskGroup::spawn(const asio::any_io_executor& executor, std::string name,
                        asio::awaitable<void> task, TaskOptions options, std::source_location loc) {
  return spawn_child(state_, executor, std::move(name), Body{}, std::move(task), options, loc);
}

TaskId TaskGroup::spawn(const asio::any_io_executor& executor, std::string name, Body body,
                        TaskOptions options, std::source_location loc) {
  return spawn_child(state_, executor, std::move(name), std::move(body), asio::awaitable<void>{},
                     options, loc);
}

void TaskGroup::cancel_all() {
  state_->cancel_children();
}

asio::awaitable<void> TaskGroup::close() {
  auto state = state_;
  auto channel = std::make_shared<DrainChannel>(co_await asio::this_coro::executor, 1);
  {
    std::lock_guard lock(state->mu);
    state->closed = true;
    if (state->children.empty()) co_return;
    state->waiters.push_back(channel);
  }
  state->cancel_children();
  co_await channel->async_receive(asio::use_awaitable);
}

bool TaskGroup::close_blocking(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(state_->mu);
    state_->closed = true;
    if (state_->children.empty()) return true;
  }
  state_->cancel_children();
  std::unique_lock lock(state_->mu);
  if (state_->drained.wait_for(lock, timeout, [&] { return state_->children.empty(); })) {
    return true;
  }
  lock.unlock();
  state_->log_remaining();
  return false;
}

std::size_t TaskGroup::size() const {
  std::lock_guard lock(state_->mu);
  return state_->children.size();
}

bool TaskGroup::closed() const {
  std::lock_guard lock(state_->mu);
  return state_->closed;
}

const std::string& TaskGroup::name() const {
  return state_->name;
}

bool close_in_order(std::span<TaskGroup* const> groups, const TaskRegistry& registry,
                    std::chrono::milliseconds timeout_each) {
  bool all = true;
  for (TaskGroup* g : groups) {
    if (!g->close_blocking(timeout_each)) all = false;
  }
  // Threads of their own (the journal's, the savers') are ended later by the objects that own
  // them: only the tasks that groups end can be left behind here.
  std::vector<TaskInfo> left;
  for (auto& t : registry.snapshot()) {
    if (!t.thread) left.push_back(std::move(t));
  }
  if (!left.empty()) {
    spdlog::error("shutdown: {} task(s) still registered after closing every group", left.size());
    for (const auto& t : left) {
      spdlog::error("shutdown: left behind: '{}' ({}) spawned at {}", t.name, t.group,
                    t.spawn_site);
    }
  }
  return all && left.empty();
}

}  // namespace castellan::runtime
