// heartbeat_flood HOST PORT USER PASSWORD SITE DEVICES [INTERVAL_MS] [CONNECTIONS]
//
// For bench/heartbeat_load.sh: DEVICES devices ("hb-1" … "hb-N") each publish a contract §3
// heartbeat (QoS 1) every INTERVAL_MS (default 3000), their phases spread evenly, over
// CONNECTIONS (default 4) shared MQTT 3.1.1 connections to the broker.
//
// Why not `castellan sim`: it publishes each message through libmosquitto (a wake-up of the
// client's network thread and a write per message), which costs it 1.3–1.8 cores for 100,000
// devices on the 2-core reference machine and leaves too little for the broker and the server
// under test. This tool writes every heartbeat due in a 5 ms step with one write() per
// connection, so that generating the load takes a small share of a core. The packets on the
// wire are the ones a device sends.
//
// Prints "READY" once every connection is accepted; on SIGTERM/SIGINT prints what it sent,
// how many PUBACKs came back and how far behind schedule it ever fell, then exits 0. A
// SIGKILL silences every device at once without a goodbye.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "core/clock.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "heartbeat_flood: %s\n", what.c_str());
  std::exit(1);
}

std::int64_t monotonic_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

void put_u16(std::string& out, std::size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void put_str(std::string& out, const std::string& s) {
  put_u16(out, s.size());
  out += s;
}

void put_remaining_length(std::string& out, std::size_t n) {
  do {
    auto byte = static_cast<unsigned char>(n % 128);
    n /= 128;
    if (n > 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (n > 0);
}

// One MQTT connection: its socket, the bytes the kernel has not taken yet, the PUBACKs back.
struct Connection {
  int fd = -1;
  std::string out;
  std::string in;  // bytes read but not yet a whole packet
  std::uint16_t next_id = 1;
  std::uint64_t acked = 0;
};

int connect_tcp(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) die("not an IPv4 address: " + host);
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket failed");
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    die("cannot connect to " + host + ":" + std::to_string(port));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void mqtt_connect(Connection& c, const std::string& client_id, const std::string& user,
                  const std::string& password) {
  std::string body;
  put_str(body, "MQTT");
  body.push_back(4);                                      // protocol level: 3.1.1
  body.push_back(static_cast<char>(0x80 | 0x40 | 0x02));  // username, password, clean session
  put_u16(body, 60);                                      // keep-alive, seconds
  put_str(body, client_id);
  put_str(body, user);
  put_str(body, password);
  std::string packet(1, static_cast<char>(0x10));
  put_remaining_length(packet, body.size());
  packet += body;
  if (write(c.fd, packet.data(), packet.size()) != static_cast<ssize_t>(packet.size())) {
    die("cannot send CONNECT");
  }
  unsigned char connack[4];
  std::size_t got = 0;
  while (got < sizeof connack) {
    const ssize_t n = read(c.fd, connack + got, sizeof connack - got);
    if (n <= 0) die("the broker closed the connection before its CONNACK");
    got += static_cast<std::size_t>(n);
  }
  if (connack[0] != 0x20 || connack[3] != 0) {
    die("CONNACK refused with return code " + std::to_string(connack[3]));
  }
  fcntl(c.fd, F_SETFL, fcntl(c.fd, F_GETFL) | O_NONBLOCK);
}

void append_publish_qos1(Connection& c, const std::string& topic, const std::string& payload) {
  c.out.push_back(static_cast<char>(0x32));
  put_remaining_length(c.out, 2 + topic.size() + 2 + payload.size());
  put_str(c.out, topic);
  put_u16(c.out, c.next_id);
  c.next_id = c.next_id == 0xffff ? 1 : c.next_id + 1;  // 0 is not a packet id
  c.out += payload;
}

// Writes what the kernel takes now; the rest waits for the next step.
void flush(Connection& c) {
  while (!c.out.empty()) {
    const ssize_t n = write(c.fd, c.out.data(), c.out.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("write to the broker failed");
    }
    c.out.erase(0, static_cast<std::size_t>(n));
  }
}

// Reads what arrived and counts whole PUBACKs (a PINGRESP is skipped).
void drain(Connection& c) {
  char buf[65536];
  while (true) {
    const ssize_t n = read(c.fd, buf, sizeof buf);
    if (n == 0) die("the broker closed a connection");
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      die("read from the broker failed");
    }
    c.in.append(buf, static_cast<std::size_t>(n));
  }
  std::size_t at = 0;
  while (c.in.size() - at >= 2) {
    const auto type = static_cast<unsigned char>(c.in[at]) >> 4;
    const auto len = static_cast<unsigned char>(c.in[at + 1]);
    if (len & 0x80) die("unexpected long packet from the broker");  // we expect 2 or 4 bytes
    if (c.in.size() - at < 2u + len) break;
    if (type == 4) ++c.acked;
    at += 2u + len;
  }
  c.in.erase(0, at);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr,
                 "usage: heartbeat_flood HOST PORT USER PASSWORD SITE DEVICES [INTERVAL_MS] "
                 "[CONNECTIONS]\n");
    return 2;
  }
  const std::string host = argv[1];
  const int port = std::atoi(argv[2]);
  const std::string user = argv[3];
  const std::string password = argv[4];
  const std::string site = argv[5];
  const std::int64_t devices = std::atoll(argv[6]);
  const std::int64_t interval_us = (argc > 7 ? std::atoll(argv[7]) : 3000) * 1000;
  const int n_connections = argc > 8 ? std::atoi(argv[8]) : 4;
  if (devices <= 0 || interval_us <= 0 || n_connections <= 0) die("bad arguments");

  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });

  std::vector<Connection> connections(static_cast<std::size_t>(n_connections));
  for (std::size_t i = 0; i < connections.size(); ++i) {
    connections[i].fd = connect_tcp(host, port);
    mqtt_connect(connections[i], "hbflood-" + std::to_string(getpid()) + "-" + std::to_string(i),
                 user, password);
  }
  std::vector<std::string> topics;
  topics.reserve(static_cast<std::size_t>(devices));
  for (std::int64_t d = 1; d <= devices; ++d) {
    topics.push_back("castellan/v1/" + site + "/devices/hb-" + std::to_string(d) + "/heartbeat");
  }
  std::printf("READY\n");
  std::fflush(stdout);

  constexpr std::int64_t kStepUs = 5000;
  constexpr std::int64_t kPingEveryUs = 30'000'000;  // well inside the 60 s keep-alive
  const std::int64_t start = monotonic_us();
  std::int64_t sent = 0;
  std::int64_t last_ping = start;
  std::int64_t worst_lag_us = 0;  // how late a step ever began
  for (std::int64_t step = 1; !g_stop; ++step) {
    const std::int64_t now = monotonic_us();
    const std::int64_t due = (now - start) * devices / interval_us;  // heartbeats due so far
    const std::string payload =
        "{\"fw\":\"1.0.0\",\"uptime_s\":" + std::to_string((now - start) / 1'000'000) +
        ",\"ts\":\"" + castellan::format_utc(castellan::SystemClock::instance().now()) + "\"}";
    for (; sent < due; ++sent) {
      const auto device = static_cast<std::size_t>(sent % devices);
      append_publish_qos1(connections[device % connections.size()], topics[device], payload);
    }
    if (now - last_ping >= kPingEveryUs) {
      for (auto& c : connections) c.out += std::string("\xc0\x00", 2);  // PINGREQ
      last_ping = now;
    }
    for (auto& c : connections) {
      flush(c);
      drain(c);
    }
    const std::int64_t next = start + step * kStepUs;
    const std::int64_t late_us = monotonic_us() - next;
    if (late_us > 0) {
      worst_lag_us = std::max(worst_lag_us, late_us);
      continue;
    }
    const timespec wake{static_cast<time_t>(next / 1'000'000),
                        static_cast<long>(next % 1'000'000) * 1000};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &wake, nullptr);
  }
  std::uint64_t acked = 0;
  std::size_t unsent = 0;
  for (const auto& c : connections) {
    acked += c.acked;
    unsent += c.out.size();
  }
  std::printf("sent %lld heartbeats, %llu acknowledged, %zu bytes unsent, worst lag %.1f ms\n",
              static_cast<long long>(sent), static_cast<unsigned long long>(acked), unsent,
              static_cast<double>(worst_lag_us) / 1000.0);
  return 0;
}
