// Runs one libFuzzer harness (LLVMFuzzerTestOneInput) without libFuzzer, which g++ does not
// have: first every file of its seed corpus, then a deterministic mutation loop over them (fixed
// seed, no coverage feedback). CTest runs it this way in the dev and asan builds
// (fuzz/CMakeLists.txt); `make fuzz` links the same harnesses with clang's libFuzzer instead.
//
//   fuzz_<harness> --corpus DIR [--iterations N] [--seed S] [--max-len BYTES]
//                  [--timeout-s SECONDS] [--failure-dir DIR]
//   fuzz_<harness> [--failure-dir DIR] FILE...   runs just these inputs (a saved failing one)
//
// A crash, a sanitizer report, a broken invariant (the harness aborts) or an input running longer
// than the timeout (default 10 s) prints the input as hex, saves it as
// DIR/fuzz_<harness>-failure-<hash> (default DIR: $TMPDIR/castellan-fuzz-failures; CTest passes
// build/<preset>/fuzz/failures), prints that path and ends the process with a failure.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define CASTELLAN_FUZZ_SANITIZED 1
#endif

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using Clock = std::chrono::steady_clock;

// Inputs run on a thread of this stack size: less than the 8 MiB of the threads that parse these
// bytes in the server, so that a recursion deep enough to come near their end fails here, in the
// plain build too (the unit test of the swipe nesting cap uses 512 KiB).
constexpr std::size_t kInputStackBytes = 1 << 20;
// At most this many bytes of a failing input are printed; the saved file has all of it.
constexpr std::size_t kMaxHexBytes = 1024;

struct Options {
  std::string corpus_dir;
  std::vector<std::string> files;  // inputs given on the command line: run only those
  std::uint64_t iterations = 10000;
  std::uint64_t seed = 1;
  std::size_t max_len = 128 * 1024;
  int timeout_s = 10;
  std::string failure_dir;  // default: castellan-fuzz-failures in the temporary directory
};

// What a failure report needs, where a signal handler, the sanitizer's death callback and the
// timeout watchdog can read it. `started_ns` is stored last (release) once the rest is set.
struct Running {
  std::atomic<const std::uint8_t*> data{nullptr};
  std::atomic<std::size_t> size{0};
  std::atomic<std::int64_t> started_ns{0};  // 0: no input is running
  char origin[256] = {};                    // "corpus file X" or "mutation N (seed S)"
};

Running running;
char g_harness[128] = "fuzz";
char g_exe[1024] = "";
char g_failure_dir[2048] = "";
std::atomic_flag g_reported = ATOMIC_FLAG_INIT;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Output from here on is async-signal-safe: write(2) and fixed buffers only.
void write_all(int fd, const char* s, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<std::size_t>(w);
  }
}
void say(const char* s) {
  write_all(2, s, std::strlen(s));
}

// Appends `s` to the NUL-terminated `buf` of `cap` bytes, truncating.
void append(char* buf, std::size_t cap, const char* s) {
  std::size_t at = std::strlen(buf);
  while (*s != '\0' && at + 1 < cap) buf[at++] = *s++;
  buf[at] = '\0';
}
void append_u64(char* buf, std::size_t cap, std::uint64_t v, int base = 10) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % static_cast<unsigned>(base)];
    v /= static_cast<unsigned>(base);
  } while (v != 0);
  char out[24];
  for (int i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
  append(buf, cap, out);
}

// Prints the running input as hex, saves it and says where. Only the first caller reports:
// a sanitizer's death callback is followed by its abort, and that by our SIGABRT handler.
void report_failure(const char* what) {
  if (g_reported.test_and_set()) return;
  const std::uint8_t* data = running.data.load();
  const std::size_t size = running.size.load();
  char line[1024] = "\nfuzz: ";
  append(line, sizeof line, g_harness);
  append(line, sizeof line, ": ");
  append(line, sizeof line, what);
  if (data == nullptr && size == 0 && running.started_ns.load() == 0) {
    append(line, sizeof line, ", after the inputs ran (at exit: a leak?)\n");
    say(line);
    return;
  }
  append(line, sizeof line, "\nfuzz: on ");
  append(line, sizeof line, running.origin);
  append(line, sizeof line, ", ");
  append_u64(line, sizeof line, size);
  append(line, sizeof line, " bytes");
  append(line, sizeof line, size > kMaxHexBytes ? ", the first 1024 in hex:\n" : ", in hex:\n");
  say(line);
  const std::size_t shown = std::min(size, kMaxHexBytes);
  for (std::size_t at = 0; at < shown; at += 64) {
    char hex[64 * 2 + 2];
    std::size_t n = 0;
    for (std::size_t i = at; i < std::min(shown, at + 64); ++i) {
      hex[n++] = "0123456789abcdef"[data[i] >> 4];
      hex[n++] = "0123456789abcdef"[data[i] & 0xF];
    }
    hex[n++] = '\n';
    write_all(2, hex, n);
  }
  // Named by its content (FNV-1a), so the same failure found twice is one file.
  std::uint64_t h = 14695981039346656037ULL;
  for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ULL;
  ::mkdir(g_failure_dir, 0755);  // made only when needed; its parent must exist
  char path[sizeof g_failure_dir + 256] = "";
  append(path, sizeof path, g_failure_dir);
  append(path, sizeof path, "/");
  append(path, sizeof path, g_harness);
  append(path, sizeof path, "-failure-");
  append_u64(path, sizeof path, h, 16);
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    say("fuzz: cannot save the input to ");
    say(path);
    say("\n");
    return;
  }
  write_all(fd, reinterpret_cast<const char*>(data), size);
  ::close(fd);
  say("fuzz: input saved to ");
  say(path);
  say("\nfuzz: run it again with: ");
  say(g_exe);
  say(" ");
  say(path);
  say("\n");
}

void on_fatal_signal(int sig) {
  switch (sig) {
    case SIGABRT:
      report_failure("abort (a broken invariant, a failed assert or an uncaught exception)");
      break;
    case SIGSEGV:
      report_failure("SIGSEGV (a bad memory access, or the stack overflowed)");
      break;
    case SIGBUS:
      report_failure("SIGBUS");
      break;
    case SIGFPE:
      report_failure("SIGFPE");
      break;
    default:
      report_failure("SIGILL");
      break;
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sa.sa_flags = SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGABRT, &sa, nullptr);
#if defined(CASTELLAN_FUZZ_SANITIZED)
  // ASan reports crashes and stack overflows itself (its own handlers), then calls this.
  __sanitizer_set_death_callback([] { report_failure("sanitizer report (above)"); });
#else
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL}) ::sigaction(sig, &sa, nullptr);
#endif
}

// Reports and ends the process when an input runs longer than the timeout (a hang, or work
// that grows too fast with the input, as the quadratic segment scan did).
class Watchdog {
 public:
  explicit Watchdog(int timeout_s) : timeout_ns_(std::int64_t{timeout_s} * 1'000'000'000) {
    thread_ = std::thread([this] { watch(); });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  void watch() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_; })) {
      const std::int64_t started = running.started_ns.load(std::memory_order_acquire);
      if (started != 0 && now_ns() - started > timeout_ns_) {
        report_failure("timeout: the input ran longer than the limit (--timeout-s)");
        ::_exit(1);
      }
    }
  }

  const std::int64_t timeout_ns_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

void run_one(const std::string& input, const std::string& origin) {
  const std::size_t n = std::min(origin.size(), sizeof running.origin - 1);
  std::memcpy(running.origin, origin.data(), n);
  running.origin[n] = '\0';
  const auto* data = reinterpret_cast<const std::uint8_t*>(input.data());
  running.data.store(data);
  running.size.store(input.size());
  running.started_ns.store(now_ns(), std::memory_order_release);
  // A copy of exactly `size` bytes, so that ASan sees a read past the end of the input.
  std::vector<std::uint8_t> exact(input.begin(), input.end());
  LLVMFuzzerTestOneInput(exact.empty() ? nullptr : exact.data(), exact.size());
  running.started_ns.store(0);
  running.data.store(nullptr);
  running.size.store(0);
}

// splitmix64: small, fast and the same everywhere, so a mutation N is the same input each run.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); 0 when n is 0.
  std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }
  bool one_in(std::size_t n) { return below(n) == 0; }

 private:
  std::uint64_t state_;
};

// Byte-level mutations in the spirit of libFuzzer's, plus the shapes that found the two old
// bugs: runs of '[' (nesting) and little-endian words that look like frame lengths.
class Mutator {
 public:
  Mutator(const std::vector<std::string>& corpus, std::size_t max_len, std::uint64_t seed)
      : rng_(seed), max_len_(max_len) {
    for (const auto& item : corpus) {
      if (item.size() <= max_len) bases_.push_back(&item);
    }
    if (bases_.empty()) bases_.push_back(&empty_);
  }

  std::string next() {
    // A third of the time the previous mutant is mutated further, to get farther from a seed.
    std::string x =
        (!previous_.empty() && rng_.one_in(3)) ? previous_ : *bases_[rng_.below(bases_.size())];
    const std::size_t steps = rng_.one_in(8) ? 1 + rng_.below(16) : 1 + rng_.below(4);
    for (std::size_t i = 0; i < steps; ++i) {
      mutate(x);
      if (x.size() > max_len_) x.resize(max_len_);
    }
    previous_ = x;
    return x;
  }

 private:
  static constexpr std::string_view kTokens[] = {
      "null",
      "true",
      "false",
      "0",
      "-0",
      "-1",
      "0.5",
      "1e400",
      "-1e400",
      "2147483648",
      "-2147483649",
      "9223372036854775807",
      "9223372036854775808",
      "-9223372036854775809",
      "18446744073709551616",
      "\"\"",
      "\"\\u0000\"",
      "\"\\ud800\"",
      "\"\\udc00\\ud800\"",
      "\"\xc3\x28\"",
      "\"\xed\xa0\x80\"",
      "\"\xf4\x90\x80\x80\"",
      "\"\xf0\x9f\x94\x91\"",
      "{}",
      "[]",
      "{\"\":{}}",
      "\"\":",
      ",",
      ":",
      "\\",
      "/",
      "//",
      "\"0000-01-01T00:00:00Z\"",
      "\"9999-12-31T23:59:59.999999-23:59\"",
      "\"1970-01-01T00:00:00.0000001+23:59\"",
      "T23:59:60",
      ".999999999",
      "Z",
      "+14:00",
      "castellan/v1/",
  };

  void mutate(std::string& x) {
    switch (rng_.below(12)) {
      case 0:  // flip a bit
        if (x.empty()) return insert_random(x);
        x[rng_.below(x.size())] ^= static_cast<char>(1 << rng_.below(8));
        return;
      case 1: {  // set a byte to one that means something to a parser
        static constexpr char kBytes[] = "\x00\x01\x7f\x80\xff\"\\{}[]:,09-.eE/ \n\t";
        if (x.empty()) return insert_random(x);
        x[rng_.below(x.size())] = kBytes[rng_.below(sizeof kBytes - 1)];
        return;
      }
      case 2:
        return insert_random(x);
      case 3: {  // erase a range, usually short
        if (x.empty()) return;
        const std::size_t at = rng_.below(x.size());
        const std::size_t left = x.size() - at;
        x.erase(at, 1 + rng_.below(rng_.one_in(4) ? left : std::min<std::size_t>(left, 16)));
        return;
      }
      case 4: {  // repeat a chunk, up to the length limit
        if (x.empty()) return;
        const std::size_t at = rng_.below(x.size());
        const std::string chunk =
            x.substr(at, 1 + rng_.below(std::min<std::size_t>(64, x.size() - at)));
        const std::size_t times = 1 + rng_.below(rng_.one_in(4) ? 4096 : 16);
        std::string run;
        for (std::size_t i = 0; i < times && x.size() + run.size() < max_len_; ++i) run += chunk;
        x.insert(at + chunk.size(), run);
        return;
      }
      case 5: {  // splice in part of another corpus item, or cross over with it
        const std::string& other = *bases_[rng_.below(bases_.size())];
        const std::size_t from = rng_.below(other.size() + 1);
        const std::size_t at = rng_.below(x.size() + 1);
        if (rng_.one_in(2)) {
          x = x.substr(0, at) + other.substr(from);
        } else {
          x.insert(at, other.substr(from, 1 + rng_.below(256)));
        }
        return;
      }
      case 6:
        return nest(x);
      case 7: {  // a token at a random place
        const std::string_view token = kTokens[rng_.below(std::size(kTokens))];
        x.insert(rng_.below(x.size() + 1), token);
        return;
      }
      case 8:
        return length_like(x);
      case 9: {  // copy a chunk over another place of the same input
        if (x.size() < 2) return;
        const std::size_t from = rng_.below(x.size());
        const std::size_t to = rng_.below(x.size());
        const std::size_t n = std::min({x.size() - from, x.size() - to, 1 + rng_.below(32)});
        x.replace(to, n, x.substr(from, n));
        return;
      }
      case 10:  // cut the end off
        x.resize(rng_.below(x.size() + 1));
        return;
      default: {  // add or subtract a little
        if (x.empty()) return insert_random(x);
        const auto delta = static_cast<char>(static_cast<int>(rng_.below(17)) - 8);
        char& c = x[rng_.below(x.size())];
        c = static_cast<char>(c + delta);
        return;
      }
    }
  }

  void insert_random(std::string& x) {
    std::string bytes(1 + rng_.below(8), '\0');
    for (char& c : bytes) c = static_cast<char>(rng_.next());
    x.insert(rng_.below(x.size() + 1), bytes);
  }

  // Deep nesting: a run of '[' (closed or not) anywhere, or a balanced one as the first member
  // of the first object, where a JSON parser must descend into it.
  void nest(std::string& x) {
    static constexpr std::array<std::size_t, 8> kDepths = {7, 8, 9, 33, 255, 257, 1000, 40000};
    const std::size_t depth =
        rng_.one_in(4) ? 1 + rng_.below(70000) : kDepths[rng_.below(kDepths.size())];
    const bool closed = rng_.one_in(2);
    std::string run(depth, '[');
    if (closed) run.append(depth, ']');
    const std::size_t brace = x.find('{');
    if (brace != std::string::npos && closed && rng_.one_in(2)) {
      x.insert(brace + 1, "\"n\":" + run + ",");
    } else {
      x.insert(rng_.below(x.size() + 1), run);
    }
  }

  // A little-endian u32 that reads as a frame length (or a length with the batch-end bit),
  // written over the input or inserted, sometimes followed by a small u64 that reads as a seq.
  void length_like(std::string& x) {
    const std::size_t at = rng_.below(x.size() + 1);
    const std::size_t after = x.size() - at;
    const std::uint32_t lengths[] = {0,
                                     1,
                                     2,
                                     15,
                                     16,
                                     17,
                                     255,
                                     4096,
                                     65536,
                                     1U << 20,
                                     (1U << 20) + 1,
                                     0x7FFFFFFF,
                                     0x80000000,
                                     0x80000010,
                                     0xFFFFFFFF,
                                     static_cast<std::uint32_t>(after >= 16 ? after - 16 : 0),
                                     static_cast<std::uint32_t>(rng_.below(after + 1)),
                                     static_cast<std::uint32_t>(rng_.next())};
    std::uint32_t v = lengths[rng_.below(std::size(lengths))];
    std::string word;
    for (int i = 0; i < 4; ++i, v >>= 8) word.push_back(static_cast<char>(v & 0xFF));
    if (rng_.one_in(2)) {
      std::uint64_t seq = rng_.below(8);
      word.append(4, '\0');  // a CRC that is most likely wrong
      for (int i = 0; i < 8; ++i, seq >>= 8) word.push_back(static_cast<char>(seq & 0xFF));
    }
    if (rng_.one_in(2)) {
      x.replace(at, std::min(word.size(), after), word);
    } else {
      x.insert(at, word);
    }
  }

  Rng rng_;
  const std::size_t max_len_;
  const std::string empty_;
  std::vector<const std::string*> bases_;
  std::string previous_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "fuzz: cannot read %s\n", path.c_str());
    std::exit(2);
  }
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

[[noreturn]] void usage(const char* exe) {
  std::fprintf(stderr,
               "usage: %s --corpus DIR [--iterations N] [--seed S] [--max-len BYTES]\n"
               "          [--timeout-s SECONDS] [--failure-dir DIR]\n"
               "       %s [--failure-dir DIR] FILE...   (run just these inputs)\n",
               exe, exe);
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(argv[0]);
      return argv[++i];
    };
    if (arg == "--corpus") {
      o.corpus_dir = value();
    } else if (arg == "--iterations") {
      o.iterations = std::stoull(value());
    } else if (arg == "--seed") {
      o.seed = std::stoull(value());
    } else if (arg == "--max-len") {
      o.max_len = std::stoull(value());
    } else if (arg == "--timeout-s") {
      o.timeout_s = std::stoi(value());
    } else if (arg == "--failure-dir") {
      o.failure_dir = value();
    } else if (arg.starts_with("-")) {
      usage(argv[0]);
    } else {
      o.files.emplace_back(arg);
    }
  }
  if (o.corpus_dir.empty() == o.files.empty()) usage(argv[0]);
  return o;
}

struct Input {
  std::string origin;  // "corpus file PATH" or "file PATH"
  std::string bytes;
};

// The corpus (or the files named), in name order: the same mutants on every machine.
std::vector<Input> load_inputs(const Options& o) {
  std::vector<Input> inputs;
  if (!o.files.empty()) {
    for (const auto& path : o.files) inputs.push_back({"file " + path, read_file(path)});
    return inputs;
  }
  std::error_code ec;
  std::vector<std::string> paths;
  for (const auto& entry : std::filesystem::directory_iterator(o.corpus_dir, ec)) {
    if (entry.is_regular_file()) paths.push_back(entry.path().string());
  }
  if (ec) {
    std::fprintf(stderr, "fuzz: cannot read the corpus %s: %s\n", o.corpus_dir.c_str(),
                 ec.message().c_str());
    std::exit(2);
  }
  std::sort(paths.begin(), paths.end());
  for (const auto& path : paths) inputs.push_back({"corpus file " + path, read_file(path)});
  return inputs;
}

struct Run {
  const Options* options;
  const std::vector<Input>* inputs;
};

void* run_all(void* arg) {
  const auto* run = static_cast<const Run*>(arg);
  const Options& o = *run->options;
#if !defined(CASTELLAN_FUZZ_SANITIZED)
  // So that the SIGSEGV of a stack overflow can still run its handler.
  static std::vector<char> alt_stack(1 << 16);
  stack_t ss{};
  ss.ss_sp = alt_stack.data();
  ss.ss_size = alt_stack.size();
  ::sigaltstack(&ss, nullptr);
#endif
  std::vector<std::string> corpus;
  for (const Input& input : *run->inputs) {
    run_one(input.bytes, input.origin);
    corpus.push_back(input.bytes);
  }
  if (!o.files.empty()) return nullptr;
  Mutator mutator(corpus, o.max_len, o.seed);
  for (std::uint64_t i = 1; i <= o.iterations; ++i) {
    run_one(mutator.next(),
            "mutation " + std::to_string(i) + " (seed " + std::to_string(o.seed) + ")");
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  const std::string exe = argv[0];
  const std::string harness = std::filesystem::path(exe).filename().string();
  std::snprintf(g_exe, sizeof g_exe, "%s", exe.c_str());
  std::snprintf(g_harness, sizeof g_harness, "%s", harness.c_str());
  std::error_code ec;
  const std::string failure_dir =
      options.failure_dir.empty()
          ? (std::filesystem::temp_directory_path(ec) / "castellan-fuzz-failures").string()
          : std::filesystem::absolute(options.failure_dir, ec).string();
  std::snprintf(g_failure_dir, sizeof g_failure_dir, "%s", failure_dir.c_str());
  install_handlers();

  const std::vector<Input> inputs = load_inputs(options);
  const auto start = Clock::now();
  Run run{&options, &inputs};
  {
    Watchdog watchdog(options.timeout_s);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kInputStackBytes);
    pthread_t thread;
    if (pthread_create(&thread, &attr, run_all, &run) != 0) {
      std::fprintf(stderr, "fuzz: cannot start the input thread\n");
      return 2;
    }
    pthread_join(thread, nullptr);
    pthread_attr_destroy(&attr);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (options.files.empty()) {
    std::printf("%s: %zu corpus inputs, then %llu mutations (seed %llu) in %.1f s: no failure\n",
                harness.c_str(), inputs.size(), static_cast<unsigned long long>(options.iterations),
                static_cast<unsigned long long>(options.seed), seconds);
  } else {
    std::printf("%s: %zu input(s) in %.1f s: no failure\n", harness.c_str(), inputs.size(),
                seconds);
  }
  return 0;
}
