// Prober against real loopback servers: each test starts a tiny HTTP server on 127.0.0.1, port
// 0, that answers with a chosen status, body and delay, and watches the OriginState the prober
// writes. Waits are polling loops bounded by seconds; assertions are on states, not timing.

#include "agent/health/prober.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "agent/failover/failover_table.h"
#include "common/metrics.h"
#include "tests/testing/process.h"

namespace anteroom::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;

// Serves one connection at a time: reads a request head, waits `delay`, answers with `status`
// and `body`, closes. Remembers the request heads it read.
class TestServer {
 public:
  TestServer() {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listener_, 64) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }

  ~TestServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (listener_ >= 0) ::close(listener_);
  }

  int port() const { return port_; }

  void Answer(int status, std::string body, std::chrono::milliseconds delay = 0ms) {
    absl::MutexLock lock(&mu_);
    status_ = status;
    body_ = std::move(body);
    delay_ = delay;
  }

  std::vector<std::string> requests() const {
    absl::MutexLock lock(&mu_);
    return requests_;
  }
  int connections() const { return connections_.load(); }

 private:
  void Serve() {
    while (!stop_) {
      pollfd pfd{listener_, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) continue;
      const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      Handle(fd);
      ::close(fd);
    }
  }

  void Handle(int fd) {
    std::string head;
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (stop_ || std::chrono::steady_clock::now() > deadline) return;
      pollfd pfd{fd, POLLIN, 0};
      if (::poll(&pfd, 1, 20) <= 0) continue;
      char buf[4096];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;  // A TCP probe connects and leaves.
      head.append(buf, static_cast<size_t>(n));
    }
    int status;
    std::string body;
    std::chrono::milliseconds delay;
    {
      absl::MutexLock lock(&mu_);
      requests_.push_back(head);
      status = status_;
      body = body_;
      delay = delay_;
    }
    for (auto until = std::chrono::steady_clock::now() + delay;
         !stop_ && std::chrono::steady_clock::now() < until;) {
      std::this_thread::sleep_for(5ms);
    }
    std::string response =
        absl::StrCat("HTTP/1.1 ", status, " Test\r\nContent-Length: ", body.size(),
                     "\r\nConnection: close\r\n\r\n");
    if (!head.starts_with("HEAD ")) response += body;
    ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
  }

  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
  mutable absl::Mutex mu_;
  int status_ ABSL_GUARDED_BY(mu_) = 200;
  std::string body_ ABSL_GUARDED_BY(mu_) = "ok";
  std::chrono::milliseconds delay_ ABSL_GUARDED_BY(mu_) = 0ms;
  std::vector<std::string> requests_ ABSL_GUARDED_BY(mu_);
};

// A loopback port that nothing listens on (bound once, then closed).
int ClosedPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Polls `done` every 10 ms for up to `limit`.
bool WaitFor(const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// A pool "p" with one origin at 127.0.0.1:port, probed every 200 ms (timeout 150 ms), going
// down after 3 failures and up after 2 successes.
v1::Pool MakePool(int port) {
  v1::Pool pool;
  pool.set_id("p");
  v1::Origin* origin = pool.add_origins();
  origin->set_address("127.0.0.1");
  origin->set_port(port);
  v1::Monitor* monitor = pool.mutable_monitor();
  monitor->set_interval_ms(200);
  monitor->set_timeout_ms(150);
  monitor->set_consecutive_up(2);
  monitor->set_consecutive_down(3);
  return pool;
}

OriginFailure FailureOf(const OriginState& origin) {
  return static_cast<OriginFailure>(origin.last_failure.load());
}

class ProberTest : public ::testing::Test {
 protected:
  ~ProberTest() override {
    if (prober_ != nullptr) prober_->Stop();
  }

  void SetPools(const std::vector<v1::Pool>& pools) {
    absl::MutexLock lock(&mu_);
    table_ = FailoverTable::Build(pools, table_.get());
  }

  // Sets the pools and starts probing them.
  void Start(const std::vector<v1::Pool>& pools) {
    SetPools(pools);
    prober_ = std::make_unique<Prober>(
        [this] {
          absl::MutexLock lock(&mu_);
          return table_;
        },
        metrics_);
    prober_->Start();
  }

  // The state of origin `index` of pool `pool_id` in the current table.
  std::shared_ptr<OriginState> Origin(const std::string& pool_id = "p", size_t index = 0) {
    absl::MutexLock lock(&mu_);
    const PoolEntry* pool = table_->Find(pool_id);
    if (pool == nullptr || index >= pool->origins.size()) return nullptr;
    return pool->origins[index];
  }

  common::MetricsRegistry metrics_;
  absl::Mutex mu_;
  std::shared_ptr<const FailoverTable> table_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Prober> prober_;
};

TEST_F(ProberTest, HealthyOriginStaysUp) {
  TestServer server;
  Start({MakePool(server.port())});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return origin->probes.load() >= 5; }));
  EXPECT_TRUE(origin->up.load());
  EXPECT_EQ(FailureOf(*origin), OriginFailure::kNone);
  EXPECT_EQ(origin->last_status.load(), 200);
  EXPECT_GT(origin->probe_latency_us.load(), 0);
  EXPECT_EQ(origin->transitions.load(), 0);
  const std::string labels = absl::StrCat("origin=\"127.0.0.1:", server.port(), "\"");
  const std::string text = metrics_.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("anteroom_origin_up{"));
  EXPECT_THAT(text, HasSubstr(labels));
  EXPECT_THAT(text, HasSubstr("anteroom_origin_probe_seconds_count{"));
}

TEST_F(ProberTest, FirstProbeComesSoonAfterTheOriginAppears) {
  TestServer server;
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_interval_ms(10'000);
  pool.mutable_monitor()->set_timeout_ms(1000);
  pool.mutable_monitor()->set_jitter_ms(100);
  Start({pool});
  // Well before the first interval is over.
  EXPECT_TRUE(WaitFor([&] { return Origin()->probes.load() >= 1; }, 3s));
}

// How a failing origin fails.
struct FailureCase {
  std::string name;
  int status = 200;
  std::string body = "ok";
  std::chrono::milliseconds delay = 0ms;
  bool closed_port = false;
  std::function<void(v1::Monitor&)> configure = [](v1::Monitor&) {};
  OriginFailure failure;
  int last_status = 0;
};

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const FailureCase& c, std::ostream* os) { *os << c.name; }

class ProberFailureTest : public ProberTest, public ::testing::WithParamInterface<FailureCase> {};

TEST_P(ProberFailureTest, GoesDownAfterConsecutiveDownWithTheReason) {
  const FailureCase& c = GetParam();
  TestServer server;
  server.Answer(c.status, c.body, c.delay);
  v1::Pool pool = MakePool(c.closed_port ? ClosedPort() : server.port());
  c.configure(*pool.mutable_monitor());
  Start({pool});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return !origin->up.load(); }));
  // probes is counted before up changes, so it is final for the transition.
  EXPECT_GE(origin->probes.load(), 3);
  EXPECT_EQ(FailureOf(*origin), c.failure);
  EXPECT_EQ(origin->last_status.load(), c.last_status);
  EXPECT_EQ(origin->transitions.load(), 1);

  const std::string text = metrics_.RenderPrometheusText();
  EXPECT_THAT(text, HasSubstr("anteroom_origin_probe_failures_total{"));
  std::string reason = OriginFailureText(c.failure, 0);
  if (c.failure == OriginFailure::kStatus) reason = "status";
  EXPECT_THAT(text, HasSubstr(absl::StrCat("reason=\"", reason, "\"")));
  EXPECT_THAT(text, HasSubstr("anteroom_origin_transitions_total{"));
}

INSTANTIATE_TEST_SUITE_P(
    All, ProberFailureTest,
    ::testing::ValuesIn(std::vector<FailureCase>{
        {.name = "Status503", .status = 503, .failure = OriginFailure::kStatus, .last_status = 503},
        {.name = "StatusOutsideExpectedCodes",
         .status = 200,
         .configure = [](v1::Monitor& m) { m.set_expected_codes("204,3xx"); },
         .failure = OriginFailure::kStatus,
         .last_status = 200},
        {.name = "BodyWithoutExpectedText",
         .body = "maintenance",
         .configure = [](v1::Monitor& m) { m.set_expected_body("healthy"); },
         .failure = OriginFailure::kBody,
         .last_status = 200},
        {.name = "SlowerThanTimeout", .delay = 600ms, .failure = OriginFailure::kTimeout},
        {.name = "ConnectionRefused", .closed_port = true, .failure = OriginFailure::kConnect},
        {.name = "TcpConnectionRefused",
         .closed_port = true,
         .configure = [](v1::Monitor& m) { m.set_type(v1::MONITOR_TYPE_TCP); },
         .failure = OriginFailure::kConnect},
    }),
    [](const auto& info) { return info.param.name; });

TEST_F(ProberTest, ExpectedBodyFoundKeepsTheOriginUp) {
  TestServer server;
  server.Answer(200, "status: healthy\n");
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_expected_body("healthy");
  Start({pool});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return origin->probes.load() >= 4; }));
  EXPECT_TRUE(origin->up.load());
  EXPECT_EQ(FailureOf(*origin), OriginFailure::kNone);
}

TEST_F(ProberTest, TcpMonitorIsUpWhileSomethingListens) {
  TestServer server;
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_type(v1::MONITOR_TYPE_TCP);
  Start({pool});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return origin->probes.load() >= 4; }));
  EXPECT_TRUE(origin->up.load());
  EXPECT_EQ(FailureOf(*origin), OriginFailure::kNone);
  EXPECT_EQ(origin->last_status.load(), 0);
  // The server accepts a little after the kernel completed the connection.
  EXPECT_TRUE(WaitFor([&] { return server.connections() >= 4; }));
  EXPECT_TRUE(server.requests().empty());  // Connected, sent nothing.
}

TEST_F(ProberTest, RecoversAfterConsecutiveUp) {
  TestServer server;
  server.Answer(503, "down");
  Start({MakePool(server.port())});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return !origin->up.load(); }));
  server.Answer(200, "ok");
  const int64_t probes_when_fixed = origin->probes.load();
  ASSERT_TRUE(WaitFor([&] { return origin->up.load(); }));
  EXPECT_GE(origin->probes.load() - probes_when_fixed, 2);
  EXPECT_EQ(FailureOf(*origin), OriginFailure::kNone);
  EXPECT_EQ(origin->transitions.load(), 2);
}

TEST_F(ProberTest, PassiveDownNeedsConsecutiveUpGoodProbes) {
  TestServer server;
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_consecutive_up(3);
  Start({pool});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return origin->probes.load() >= 2; }));
  ASSERT_TRUE(origin->up.load());

  // What the request path does when live traffic fails: down now, counted there.
  origin->up.store(false);
  origin->passive_down.store(true);
  origin->transitions.fetch_add(1);

  // The next probe takes the mark; good as it is, the origin stays down.
  ASSERT_TRUE(WaitFor([&] { return !origin->passive_down.load(); }));
  const int64_t probes_when_taken = origin->probes.load();
  EXPECT_FALSE(origin->up.load());
  ASSERT_TRUE(WaitFor([&] { return origin->up.load(); }));
  // The probe that took the mark counts as the first of three good ones.
  EXPECT_GE(origin->probes.load() - probes_when_taken, 2);
  EXPECT_EQ(origin->transitions.load(), 2);  // Ours, and the prober's way back up.
}

TEST_F(ProberTest, ProbesAboutOncePerInterval) {
  TestServer server;
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_interval_ms(100);
  pool.mutable_monitor()->set_timeout_ms(90);
  Start({pool});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return origin->probes.load() >= 1; }));
  const int64_t before = origin->probes.load();
  std::this_thread::sleep_for(1s);
  const int64_t probes = origin->probes.load() - before;
  // 10 expected; jitter (10 ms by default) and a loaded machine only make it fewer.
  EXPECT_GE(probes, 5);
  EXPECT_LE(probes, 12);
}

TEST_F(ProberTest, SendsPathHostHeaderAndExtraHeaders) {
  TestServer server;
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_path("/healthz?deep=1");
  pool.mutable_monitor()->set_host_header("shop.example");
  (*pool.mutable_monitor()->mutable_headers())["X-Probe"] = "anteroom";
  (*pool.mutable_monitor()->mutable_headers())["Authorization"] = "Bearer t";
  Start({pool});
  ASSERT_TRUE(WaitFor([&] { return !server.requests().empty(); }));
  const std::string head = server.requests().front();
  EXPECT_THAT(head, StartsWith("GET /healthz?deep=1 HTTP/1.1\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nHost: shop.example\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nX-Probe: anteroom\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nAuthorization: Bearer t\r\n"));
}

TEST_F(ProberTest, DefaultsToGetSlashWithTheAddressAsHost) {
  TestServer server;
  Start({MakePool(server.port())});
  ASSERT_TRUE(WaitFor([&] { return !server.requests().empty(); }));
  const std::string head = server.requests().front();
  EXPECT_THAT(head, StartsWith("GET / HTTP/1.1\r\n"));
  EXPECT_THAT(head, HasSubstr("\r\nHost: 127.0.0.1\r\n"));
}

TEST_F(ProberTest, HeadMethodSendsHeadAndStaysUp) {
  TestServer server;
  server.Answer(200, "a body that HEAD does not get");
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_method("HEAD");
  Start({pool});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return origin->probes.load() >= 4; }));
  ASSERT_FALSE(server.requests().empty());
  EXPECT_THAT(server.requests().front(), StartsWith("HEAD / HTTP/1.1\r\n"));
  EXPECT_TRUE(origin->up.load());
  EXPECT_EQ(FailureOf(*origin), OriginFailure::kNone);
}

TEST_F(ProberTest, OtherMethodsAreSentAsIs) {
  TestServer server;
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_method("OPTIONS");
  Start({pool});
  ASSERT_TRUE(WaitFor([&] { return !server.requests().empty(); }));
  EXPECT_THAT(server.requests().front(), StartsWith("OPTIONS / HTTP/1.1\r\n"));
}

TEST_F(ProberTest, DisabledOriginIsNotProbed) {
  TestServer disabled_server;
  TestServer enabled_server;
  v1::Pool pool = MakePool(disabled_server.port());
  pool.mutable_origins(0)->set_enabled(false);
  v1::Origin* enabled = pool.add_origins();
  enabled->set_address("127.0.0.1");
  enabled->set_port(enabled_server.port());
  Start({pool});
  auto disabled = Origin("p", 0);
  ASSERT_TRUE(WaitFor([&] { return Origin("p", 1)->probes.load() >= 4; }));
  EXPECT_EQ(disabled->probes.load(), 0);
  EXPECT_EQ(disabled_server.connections(), 0);
  EXPECT_TRUE(disabled->up.load());  // Left as it was.
}

TEST_F(ProberTest, FollowsTableChanges) {
  TestServer first;
  TestServer second;
  Start({MakePool(first.port())});
  auto first_origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return first_origin->probes.load() >= 1; }));

  // Another pool replaces it: the old origin is no longer probed, the new one is.
  v1::Pool other = MakePool(second.port());
  other.set_id("q");
  SetPools({other});
  auto second_origin = Origin("q");
  ASSERT_TRUE(WaitFor([&] { return second_origin->probes.load() >= 2; }));
  // At most one probe was in flight when the table changed, and it was abandoned.
  const int connections = first.connections();
  std::this_thread::sleep_for(600ms);
  EXPECT_LE(first.connections(), connections + 1);
}

TEST_F(ProberTest, KeepsStateAcrossTablesWithTheSameOrigin) {
  TestServer server;
  server.Answer(503, "down");
  Start({MakePool(server.port())});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return !origin->up.load(); }));

  // A new table (say, another room changed) reuses the origin's state and stays down.
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_expected_body("x");  // A monitor change, same thresholds.
  SetPools({pool});
  ASSERT_EQ(Origin().get(), origin.get());
  const int64_t probes = origin->probes.load();
  ASSERT_TRUE(WaitFor([&] { return origin->probes.load() >= probes + 3; }));
  EXPECT_FALSE(origin->up.load());
  EXPECT_EQ(origin->transitions.load(), 1);
}

TEST_F(ProberTest, StopReturnsPromptlyWithAProbeInFlight) {
  TestServer server;
  server.Answer(200, "slow", 2s);
  v1::Pool pool = MakePool(server.port());
  pool.mutable_monitor()->set_interval_ms(5000);
  pool.mutable_monitor()->set_timeout_ms(4000);
  Start({pool});
  ASSERT_TRUE(WaitFor([&] { return server.connections() >= 1; }));
  const auto start = std::chrono::steady_clock::now();
  prober_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace anteroom::agent

namespace anteroom::agent {
namespace {

// `openssl s_server -www` with a self-signed certificate made for the test: an HTTPS origin.
class TlsOriginTest : public ProberTest {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists("/usr/bin/openssl")) GTEST_SKIP() << "no /usr/bin/openssl";
    dir_ = testing::MakeTempDir("anteroom-prober-tls");
    auto made = testing::RunCommand(
        "/usr/bin/openssl",
        {"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir_ + "/key.pem", "-out",
         dir_ + "/cert.pem", "-days", "1", "-subj", "/CN=anteroom-test"});
    ASSERT_TRUE(made.ok() && made->exit_code == 0) << (made.ok() ? made->output : "");
    ASSERT_TRUE(server_
                    .Start("/usr/bin/openssl",
                           {"s_server", "-accept", "127.0.0.1:0", "-cert", dir_ + "/cert.pem",
                            "-key", dir_ + "/key.pem", "-www"},
                           dir_ + "/server.log")
                    .ok());
    // s_server prints "ACCEPT 127.0.0.1:PORT" once it listens.
    ASSERT_TRUE(WaitFor([&] {
      std::ifstream in(dir_ + "/server.log");
      std::string word, address;
      while (in >> word) {
        if (word == "ACCEPT" && in >> address) {
          port_ = std::stoi(address.substr(address.rfind(':') + 1));
          return true;
        }
      }
      return false;
    }));
  }
  void TearDown() override {
    if (!dir_.empty()) testing::RemoveTree(dir_);
  }

  v1::Pool HttpsPool(bool allow_insecure) {
    v1::Pool pool = MakePool(port_);
    pool.mutable_monitor()->set_type(v1::MONITOR_TYPE_HTTPS);
    pool.mutable_monitor()->set_interval_ms(500);
    pool.mutable_monitor()->set_timeout_ms(400);
    pool.mutable_monitor()->set_allow_insecure(allow_insecure);
    return pool;
  }

  std::string dir_;
  testing::ChildProcess server_;
  int port_ = 0;
};

TEST_F(TlsOriginTest, HttpsWithAllowInsecureAcceptsASelfSignedOrigin) {
  Start({HttpsPool(true)});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return origin->probes.load() >= 3; }));
  EXPECT_TRUE(origin->up.load());
  EXPECT_EQ(origin->last_status.load(), 200);
  EXPECT_EQ(FailureOf(*origin), OriginFailure::kNone);
}

TEST_F(TlsOriginTest, HttpsRefusesAnUntrustedCertificate) {
  Start({HttpsPool(false)});
  auto origin = Origin();
  ASSERT_TRUE(WaitFor([&] { return !origin->up.load(); }));
  EXPECT_EQ(FailureOf(*origin), OriginFailure::kTls);
}

}  // namespace
}  // namespace anteroom::agent
