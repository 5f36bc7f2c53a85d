// Health probes and failover end to end: two real demo origins in one pool, a real agent that
// probes them and a real coordinator that collects the agent's view, all on loopback ports
// chosen at run time. Origins are killed (SIGKILL) and restarted, made to flap, or slowed down
// through the demo origin's /control/health.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <thread>

#include "anteroom/v1/admin.grpc.pb.h"
#include "tests/testing/http_get.h"
#include "tests/testing/process.h"

namespace anteroom::agent {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using asio::ip::tcp;
using testing::ChildProcess;

constexpr const char* kToken = "failover-token";

int PortFrom(const std::string& file, const std::string& key) {
  return testing::PortFromFile(file, key);
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  return testing::WaitUntil(condition, timeout);
}

struct Reply {
  int status = 0;
  std::string origin;  // X-Origin-Name: which demo origin answered.
  std::string body;
};

// A keep-alive HTTP/1.1 client: one connection, reopened only when it breaks.
class Client {
 public:
  explicit Client(int port) : port_(port) {}

  // Nullopt when the connection failed or closed without a response.
  std::optional<Reply> Send(bhttp::verb method, const std::string& target,
                            const std::string& body = "") {
    beast::error_code ec;
    if (!stream_) {
      stream_.emplace(io_);
      stream_->expires_after(5s);
      stream_->connect(
          tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)),
          ec);
      if (ec) {
        stream_.reset();
        return std::nullopt;
      }
    }
    bhttp::request<bhttp::string_body> req(method, target, 11);
    req.set(bhttp::field::host, "shop.test");
    if (!body.empty()) req.body() = body;
    req.prepare_payload();
    stream_->expires_after(5s);
    bhttp::write(*stream_, req, ec);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    if (!ec) bhttp::read(*stream_, buffer, res, ec);
    if (ec) {
      stream_.reset();
      return std::nullopt;
    }
    Reply reply{static_cast<int>(res.result_int()), std::string(res["X-Origin-Name"]), res.body()};
    if (!res.keep_alive()) stream_.reset();
    return reply;
  }
  std::optional<Reply> Get(const std::string& target) { return Send(bhttp::verb::get, target); }

 private:
  const int port_;
  asio::io_context io_;
  std::optional<beast::tcp_stream> stream_;
};

// Sets an origin's health mode ("up", "down", "flap", "slow:MS") through its control endpoint.
bool SetHealth(int origin_port, const std::string& mode) {
  Client c(origin_port);
  auto r = c.Send(bhttp::verb::post, "/control/health", mode);
  return r.has_value() && r->status == 200;
}

class FailoverE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("anteroom-failover-e2e");
    ASSERT_TRUE(coordinator_
                    .Start(COORDINATOR_BIN,
                           {"--data-dir=" + dir_ + "/coord", "--listen=127.0.0.1:0",
                            "--admin-listen=127.0.0.1:0", "--ports-file=" + dir_ + "/coord.ports",
                            std::string("--admin-token=") + kToken, "--log-level=warn",
                            "--sync-interval-ms=200"},
                           dir_ + "/coord.log")
                    .ok());
    coordinator_port_ = PortFrom(dir_ + "/coord.ports", "grpc");
    ASSERT_GT(coordinator_port_, 0);
    ASSERT_TRUE(StartOrigin(0, 0));
    ASSERT_TRUE(StartOrigin(1, 0));
  }
  void TearDown() override {
    agent_.reset();
    testing::RemoveTree(dir_);
  }

  static constexpr const char* kNames[2] = {"alpha", "bravo"};

  // Starts origin i on `port` (0: any free port, remembered for restarts).
  bool StartOrigin(int i, int port) {
    const std::string ports = dir_ + "/origin" + std::to_string(i) + ".ports";
    std::remove(ports.c_str());
    if (!origins_[i]
             .Start(ORIGIN_BIN,
                    {"--listen=127.0.0.1:" + std::to_string(port), "--ports-file=" + ports,
                     std::string("--name=") + kNames[i]},
                    ports + ".log")
             .ok()) {
      return false;
    }
    origin_ports_[i] = PortFrom(ports, "http");
    return origin_ports_[i] > 0;
  }

  std::string OriginKey(int i) const { return "127.0.0.1:" + std::to_string(origin_ports_[i]); }

  // An agent whose requests outside rooms go to pool "app" (alpha first, then bravo).
  void StartAgent(const std::string& steering = "STEERING_POLICY_FAILOVER") {
    const std::string config = dir_ + "/agent.yaml";
    {
      std::ofstream out(config);
      out << "pools:\n"
          << "  - id: app\n"
          << "    steering: " << steering << "\n"
          << "    origins:\n"
          << "      - {address: 127.0.0.1, port: " << origin_ports_[0] << "}\n"
          << "      - {address: 127.0.0.1, port: " << origin_ports_[1] << "}\n"
          << "    monitor: {path: /health, interval_ms: 200, timeout_ms: 150,"
          << " consecutive_up: 2, consecutive_down: 2, jitter_ms: 20}\n"
          << "upstream_pools: [app]\n";
    }
    agent_ = std::make_unique<ChildProcess>();
    const std::string ports = dir_ + "/agent.ports";
    ASSERT_TRUE(agent_
                    ->Start(AGENT_BIN,
                            {"--config=" + config, "--listen=127.0.0.1:0",
                             "--admin-listen=127.0.0.1:0", "--ports-file=" + ports,
                             "--coordinators=127.0.0.1:" + std::to_string(coordinator_port_),
                             "--sync-interval-ms=200", "--log-level=info", "--io-threads=2"},
                            ports + ".log")
                    .ok());
    agent_port_ = PortFrom(ports, "http");
    agent_admin_port_ = PortFrom(ports, "admin");
    ASSERT_GT(agent_port_, 0);
    ASSERT_TRUE(WaitFor(
        [&] {
          Client c(agent_port_);
          auto r = c.Get("/");
          return r.has_value() && r->status == 200;
        },
        10s));
  }

  // The value of the agent's metric `name` whose labels mention origin i (0 when absent).
  double OriginMetric(const std::string& name, int i, const std::string& extra = "") {
    auto r = testing::HttpGet(agent_admin_port_, "/metrics");
    if (!r.ok()) return -1;
    std::istringstream in(r->body);
    std::string line;
    double sum = 0;
    while (std::getline(in, line)) {
      if (line.rfind(name + "{", 0) != 0) continue;
      if (line.find("\"" + OriginKey(i) + "\"") == std::string::npos) continue;
      if (!extra.empty() && line.find(extra) == std::string::npos) continue;
      sum += std::stod(line.substr(line.rfind(' ') + 1));
    }
    return sum;
  }

  // Which origin answers GET / now.
  std::string Answerer() {
    Client c(agent_port_);
    auto r = c.Get("/");
    return r.has_value() && r->status == 200 ? r->origin : "error";
  }

  std::string dir_;
  ChildProcess coordinator_;
  int coordinator_port_ = 0;
  ChildProcess origins_[2];
  int origin_ports_[2] = {0, 0};
  std::unique_ptr<ChildProcess> agent_;
  int agent_port_ = 0;
  int agent_admin_port_ = 0;
};

TEST_F(FailoverE2eTest, KillingThePrimaryUnderLoadFailsNoRequestAndItComesBack) {
  StartAgent();
  EXPECT_EQ(Answerer(), "alpha");

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0}, from_bravo{0};
  std::vector<std::thread> load;
  for (int t = 0; t < 4; ++t) {
    load.emplace_back([&] {
      Client c(agent_port_);
      while (!stop) {
        auto r = c.Get("/");
        if (r.has_value() && r->status == 200) {
          ++ok;
          if (r->origin == "bravo") ++from_bravo;
        } else {
          ++failed;
        }
      }
    });
  }
  std::this_thread::sleep_for(1s);
  const int before_kill = ok.load();
  ASSERT_TRUE(origins_[0].Stop(SIGKILL, 5s).ok());
  std::this_thread::sleep_for(2s);
  stop = true;
  for (auto& t : load) t.join();

  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(before_kill, 50);
  EXPECT_GT(ok.load() - before_kill, 50) << "traffic kept flowing after the kill";
  EXPECT_GT(from_bravo.load(), 50);
  EXPECT_EQ(Answerer(), "bravo");
  EXPECT_EQ(OriginMetric("anteroom_origin_up", 0), 0);

  // Back on its old port: traffic returns after consecutive_up good probes.
  const int old_port = origin_ports_[0];
  ASSERT_TRUE(StartOrigin(0, old_port));
  const auto restarted = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitFor([&] { return Answerer() == "alpha"; }, 10s));
  // Two probes 200 ms (+ up to 20 ms jitter) apart: never sooner than one interval.
  EXPECT_GE(std::chrono::steady_clock::now() - restarted, 150ms);
  EXPECT_EQ(OriginMetric("anteroom_origin_up", 0), 1);
}

TEST_F(FailoverE2eTest, AFlappingOriginDoesNotFlipFasterThanItsThresholds) {
  StartAgent();
  ASSERT_TRUE(WaitFor([&] { return OriginMetric("anteroom_origin_up", 0) == 1; }, 5s));
  const double before = OriginMetric("anteroom_origin_transitions_total", 0);
  // Alternating good and bad probes never make two in a row.
  ASSERT_TRUE(SetHealth(origin_ports_[0], "flap"));
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(OriginMetric("anteroom_origin_transitions_total", 0), before);
  EXPECT_EQ(Answerer(), "alpha");

  // Really down: one transition, traffic moves to bravo.
  ASSERT_TRUE(SetHealth(origin_ports_[0], "down"));
  EXPECT_TRUE(WaitFor([&] { return Answerer() == "bravo"; }, 5s));
  EXPECT_EQ(OriginMetric("anteroom_origin_transitions_total", 0), before + 1);
  EXPECT_GT(OriginMetric("anteroom_origin_probe_failures_total", 0, "reason=\"status\""), 0);
  ASSERT_TRUE(SetHealth(origin_ports_[0], "up"));
  EXPECT_TRUE(WaitFor([&] { return Answerer() == "alpha"; }, 5s));
  EXPECT_EQ(OriginMetric("anteroom_origin_transitions_total", 0), before + 2);
}

TEST_F(FailoverE2eTest, ASlowOriginIsCountedDownByTimeout) {
  StartAgent();
  ASSERT_TRUE(SetHealth(origin_ports_[0], "slow:1000"));
  EXPECT_TRUE(WaitFor([&] { return Answerer() == "bravo"; }, 5s));
  EXPECT_EQ(OriginMetric("anteroom_origin_up", 0), 0);
  EXPECT_GT(OriginMetric("anteroom_origin_probe_failures_total", 0, "reason=\"timeout\""), 0);
  EXPECT_EQ(OriginMetric("anteroom_origin_up", 1), 1);
}

TEST_F(FailoverE2eTest, WebSocketClientsOfADeadOriginReconnectToALiveOne) {
  StartAgent();
  auto echo_once = [&](beast::websocket::stream<tcp::socket>& ws, const std::string& msg) {
    beast::error_code ec;
    ws.write(asio::buffer(msg), ec);
    if (ec) return false;
    beast::flat_buffer buf;
    ws.read(buf, ec);
    return !ec && beast::buffers_to_string(buf.data()) == msg;
  };
  auto connect = [&](asio::io_context& io) {
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(agent_port_)});
    auto ws = std::make_unique<beast::websocket::stream<tcp::socket>>(std::move(socket));
    beast::error_code ec;
    ws->handshake("127.0.0.1", "/ws", ec);
    EXPECT_FALSE(ec) << ec.message();
    return ws;
  };
  asio::io_context io;
  auto ws = connect(io);
  ASSERT_TRUE(echo_once(*ws, "before"));
  ASSERT_TRUE(origins_[0].Stop(SIGKILL, 5s).ok());
  EXPECT_FALSE(echo_once(*ws, "lost")) << "the tunnel to a dead origin must close";
  auto again = connect(io);
  EXPECT_TRUE(echo_once(*again, "after"));
}

TEST_F(FailoverE2eTest, WebSocketTunnelsCloseWhenTheirOriginIsMarkedDown) {
  StartAgent();
  asio::io_context io;
  auto open = [&] {
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(agent_port_)});
    auto ws = std::make_unique<beast::websocket::stream<tcp::socket>>(std::move(socket));
    beast::websocket::response_type res;
    beast::error_code ec;
    ws->handshake(res, "127.0.0.1", "/ws", ec);
    EXPECT_FALSE(ec) << ec.message();
    return std::make_pair(std::move(ws), std::string(res["X-Origin-Name"]));
  };
  auto [ws, origin] = open();
  EXPECT_EQ(origin, "alpha");
  // Alpha's process lives on (its connections stay open) but its health check fails.
  ASSERT_TRUE(SetHealth(origin_ports_[0], "down"));
  const auto start = std::chrono::steady_clock::now();
  beast::flat_buffer buf;
  beast::error_code ec;
  // Bounded: a tunnel that never closes fails the elapsed-time check below instead of hanging.
  timeval limit{8, 0};
  setsockopt(ws->next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ws->read(buf, ec);  // Returns once the agent closes the tunnel.
  EXPECT_TRUE(ec) << "the tunnel to a down origin must close";
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  auto [again, new_origin] = open();
  EXPECT_EQ(new_origin, "bravo");
}

TEST_F(FailoverE2eTest, TheCoordinatorShowsTheAgentsVerdict) {
  StartAgent();
  auto admin = v1::Admin::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(coordinator_port_), grpc::InsecureChannelCredentials()));
  auto verdict = [&](int i) -> std::optional<v1::OriginVerdict> {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    v1::GetOriginHealthRequest req;
    req.set_pool_id("app");
    v1::OriginHealthResponse res;
    if (!admin->GetOriginHealth(&ctx, req, &res).ok()) return std::nullopt;
    for (const auto& v : res.origins()) {
      if (v.origin() == OriginKey(i)) return v;
    }
    return std::nullopt;
  };
  EXPECT_TRUE(WaitFor(
      [&] {
        auto a = verdict(0), b = verdict(1);
        return a && b && a->healthy() && b->healthy() && a->agents_up() == 1;
      },
      10s));
  ASSERT_TRUE(origins_[0].Stop(SIGKILL, 5s).ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        auto a = verdict(0);
        return a && !a->healthy() && a->agents_down() == 1;
      },
      10s));
}

TEST_F(FailoverE2eTest, PoolsFromTheCoordinatorReachTheAgentInSync) {
  StartAgent();
  auto admin = v1::Admin::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(coordinator_port_), grpc::InsecureChannelCredentials()));
  auto call = [&](auto method, const auto& req, auto* res) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    return ((*admin).*method)(&ctx, req, res).ok();
  };
  // A room on /shop whose traffic goes to pool "bravo-only", falling back to "app".
  v1::CreatePoolRequest pool_req;
  v1::Pool* pool = pool_req.mutable_pool();
  pool->set_id("bravo-only");
  v1::Origin* o = pool->add_origins();
  o->set_address("127.0.0.1");
  o->set_port(origin_ports_[1]);
  pool->mutable_monitor()->set_path("/health");
  pool->mutable_monitor()->set_interval_ms(200);
  pool->mutable_monitor()->set_timeout_ms(150);
  v1::Pool pool_out;
  ASSERT_TRUE(call(&v1::Admin::Stub::CreatePool, pool_req, &pool_out));
  v1::CreateRoomRequest room_req;
  v1::Room* room = room_req.mutable_room();
  room->set_id("shop");
  room->add_routes()->set_path_prefix("/shop");
  room->set_total_active_users(100);
  room->set_new_users_per_minute(600);
  room->add_pools("bravo-only");
  v1::Room room_out;
  ASSERT_TRUE(call(&v1::Admin::Stub::CreateRoom, room_req, &room_out));

  Client c(agent_port_);
  EXPECT_TRUE(WaitFor(
      [&] {
        auto r = c.Get("/shop/cart");
        return r.has_value() && r->status == 200 && r->origin == "bravo";
      },
      10s));
  // Outside the room, the agent's own default pool still prefers alpha.
  EXPECT_EQ(Answerer(), "alpha");
}

TEST_F(FailoverE2eTest, EveryOriginDownGivesAClear503Page) {
  StartAgent();
  ASSERT_TRUE(origins_[0].Stop(SIGKILL, 5s).ok());
  ASSERT_TRUE(origins_[1].Stop(SIGKILL, 5s).ok());
  Client c(agent_port_);
  std::optional<Reply> r;
  EXPECT_TRUE(WaitFor(
      [&] {
        r = c.Get("/");
        return r.has_value() && r->status == 503;
      },
      5s));
  ASSERT_TRUE(r.has_value());
  EXPECT_NE(r->body.find("Temporarily unavailable"), std::string::npos) << r->body;
}

TEST_F(FailoverE2eTest, APostThatReachedTheOriginIsNeverRetried) {
  StartAgent();
  // The origin stops answering health probes slower than requests: a request in flight to
  // it when it dies must not be replayed elsewhere if it is a POST.
  Client c(agent_port_);
  std::atomic<bool> done{false};
  std::optional<Reply> reply;
  std::thread post([&] {
    reply = c.Send(bhttp::verb::post, "/slow?ms=1500", "order=1");
    done = true;
  });
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(origins_[0].Stop(SIGKILL, 5s).ok());
  post.join();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 502) << "a POST that reached alpha must not go to bravo";
  // The same for a GET is repeated on bravo.
  ASSERT_TRUE(StartOrigin(0, origin_ports_[0]));
  ASSERT_TRUE(WaitFor([&] { return Answerer() == "alpha"; }, 10s));
  std::thread get([&] { reply = Client(agent_port_).Get("/slow?ms=1500"); });
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(origins_[0].Stop(SIGKILL, 5s).ok());
  get.join();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->origin, "bravo");
}

}  // namespace
}  // namespace anteroom::agent
