// sync_modes [DIR] [BYTES] [COUNT]: what one durable write costs on the disk under DIR
// (default /tmp) for each way of making it durable: a buffered pwrite + fdatasync (the
// journal's way), O_DIRECT + fdatasync, O_DIRECT|O_DSYNC, and buffered O_DSYNC. COUNT writes of
// BYTES each (defaults 2500 and 5000) into a zero-filled 64 MiB file, as the journal writes
// into segments grown with zeros. Prints, per write: wall time, this process's CPU
// (getrusage) and the whole machine's busy time (/proc/stat), since on a VM the CPU an
// fdatasync costs is spent partly outside the process. docs/benchmarks.md, "Direct I/O".
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

double cpu_seconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) * 1e-6;
}

// Jiffies the machine spent not idle (all CPUs).
long long busy_jiffies() {
  long long user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  if (FILE* f = std::fopen("/proc/stat", "r")) {
    if (std::fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &user, &nice, &system, &idle,
                    &iowait, &irq, &softirq, &steal) != 8) {
      user = nice = system = irq = softirq = steal = 0;
    }
    std::fclose(f);
  }
  return user + nice + system + irq + softirq + steal;
}

struct Mode {
  const char* name;
  int flags;
  bool direct;
  bool fdatasync_each;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "/tmp";
  const std::size_t bytes = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 2500;
  const int count = argc > 3 ? std::atoi(argv[3]) : 5000;
  const std::string path = dir + "/sync_modes.dat";
  constexpr std::size_t kFile = 64u << 20, kBlock = 4096, kMaxWrite = 1u << 20;
  if (bytes == 0 || bytes > kMaxWrite || count <= 0) {
    std::fprintf(stderr, "usage: sync_modes [DIR] [BYTES 1..1048576] [COUNT]\n");
    return 2;
  }
  void* raw = nullptr;
  if (posix_memalign(&raw, kBlock, kMaxWrite + kBlock) != 0) return 1;
  char* buf = static_cast<char*>(raw);
  std::memset(buf, 'x', kMaxWrite + kBlock);
  const Mode modes[] = {{"buffered + fdatasync", 0, false, true},
                        {"O_DIRECT + fdatasync", O_DIRECT, true, true},
                        {"O_DIRECT|O_DSYNC", O_DIRECT | O_DSYNC, true, false},
                        {"buffered O_DSYNC", O_DSYNC, false, false}};
  for (const Mode& m : modes) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return std::perror(path.c_str()), 1;
    std::string zeros(1u << 20, '\0');
    for (std::size_t at = 0; at < kFile; at += zeros.size()) {
      if (::write(fd, zeros.data(), zeros.size()) < 0) return std::perror("write"), 1;
    }
    ::fsync(fd);
    ::close(fd);
    fd = ::open(path.c_str(), O_RDWR | m.flags);
    if (fd < 0) return std::perror(path.c_str()), 1;
    // Direct I/O writes whole aligned blocks: the partial last block is written again.
    const std::size_t length = m.direct ? (bytes + kBlock - 1) / kBlock * kBlock : bytes;
    std::size_t offset = 0;
    const long long busy0 = busy_jiffies();
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < count; ++i) {
      const std::size_t at = m.direct ? offset / kBlock * kBlock : offset;
      if (::pwrite(fd, buf, length, static_cast<off_t>(at)) != static_cast<ssize_t>(length)) {
        return std::perror("pwrite"), 1;
      }
      if (m.fdatasync_each && ::fdatasync(fd) != 0) return std::perror("fdatasync"), 1;
      offset += bytes;
      if (offset + kMaxWrite + kBlock > kFile) offset = 0;
    }
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    const double busy =
        static_cast<double>(busy_jiffies() - busy0) / static_cast<double>(sysconf(_SC_CLK_TCK));
    ::close(fd);
    std::printf("%-22s %zu B x %d: %6.1f us wall, %5.1f us process CPU, %6.1f us machine busy\n",
                m.name, bytes, count, wall / count * 1e6, cpu / count * 1e6, busy / count * 1e6);
  }
  ::unlink(path.c_str());
  std::free(raw);
  return 0;
}
