// The agent end to end: real coordinator, real agents, the demo origin, libcurl browsers with
// their own cookie jars, all on loopback ports chosen at run time.

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <fstream>
#include <thread>

#include "anteroom/v1/admin.grpc.pb.h"
#include "tests/agent/e2e_fixture.h"

namespace anteroom::agent {
namespace {

int64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

TEST_F(AgentE2eTest, TwoEnterTheThirdWaitsAndGetsInWhenAPlaceFrees) {
  CreateRoom("shop", 2, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  const int port = agents_[a]->port;

  Browser alice, bob, carol;
  auto pa = Enter(alice, port, "shop", "/");
  ASSERT_TRUE(pa.ok()) << pa.status();
  EXPECT_EQ(pa->status, 200);
  EXPECT_NE(pa->body.find("Welcome to shop"), std::string::npos);
  auto pb = Enter(bob, port, "shop", "/");
  ASSERT_TRUE(pb.ok()) << pb.status();
  EXPECT_NE(pb->body.find("Welcome to shop"), std::string::npos);

  // The room is full: Carol gets the waiting page, and JSON says she is first in line.
  auto pc = carol.Get(port, "/");
  ASSERT_TRUE(pc.ok());
  EXPECT_EQ(pc->headers["x-anteroom-status"], "queued");
  EXPECT_NE(pc->body.find("<html"), std::string::npos);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto js = carol.Get(port, "/", "application/json");
        return js.ok() && js->body.find("\"position\":1") != std::string::npos;
      },
      10s));
  auto js = carol.Get(port, "/__anteroom/status?room=shop", "application/json");
  ASSERT_TRUE(js.ok());
  EXPECT_NE(js->body.find("\"status\":\"queued\""), std::string::npos) << js->body;
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(WaitAdmitted(carol, port, "shop", 1s)) << "no place is free yet";

  // Alice checks out: the origin revokes her session, her cookie is cleared, Carol gets in.
  auto out = alice.Get(port, "/checkout");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->headers.count("x-anteroom-command"), 0u) << "the command must not leak";
  EXPECT_TRUE(WaitAdmitted(carol, port, "shop", 15s));
  auto in = carol.Get(port, "/");
  ASSERT_TRUE(in.ok());
  EXPECT_NE(in->body.find("Welcome to shop"), std::string::npos);
}

TEST_F(AgentE2eTest, AQueuedUserKeepsItsPlaceAcrossAgents) {
  CreateRoom("shop", 1, 600);
  const int a = StartAgent(), b = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  ASSERT_TRUE(WaitAgentReady(b));
  Browser holder, first, second;
  ASSERT_TRUE(Enter(holder, agents_[a]->port, "shop", "/").ok());
  ASSERT_EQ(first.Get(agents_[a]->port, "/")->headers["x-anteroom-status"], "queued");
  std::this_thread::sleep_for(1100ms);  // A later arrival bucket.
  ASSERT_EQ(second.Get(agents_[a]->port, "/")->headers["x-anteroom-status"], "queued");
  // The first user moves to agent b with its cookie and is still first.
  Browser moved;
  moved.CopyCookiesFrom(first);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto js = moved.Get(agents_[b]->port, "/", "application/json");
        return js.ok() && js->body.find("\"position\":1") != std::string::npos;
      },
      10s));
  // When the holder leaves, the mover gets in at b before the later user.
  ASSERT_TRUE(holder.Get(agents_[a]->port, "/checkout").ok());
  EXPECT_TRUE(WaitAdmitted(moved, agents_[b]->port, "shop", 15s));
  auto later = second.Get(agents_[a]->port, "/__anteroom/status?room=shop", "application/json");
  ASSERT_TRUE(later.ok());
  EXPECT_NE(later->body.find("\"queued\""), std::string::npos);
}

TEST_F(AgentE2eTest, WebSocketEchoesThroughTheAgent) {
  CreateRoom("shop", 10, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser user;
  ASSERT_TRUE(Enter(user, agents_[a]->port, "shop", "/").ok());
  namespace beast = boost::beast;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect(
      {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(agents_[a]->port)});
  beast::websocket::stream<boost::asio::ip::tcp::socket> ws(std::move(socket));
  const std::string cookie = user.CookieHeader();
  ws.set_option(beast::websocket::stream_base::decorator(
      [&](beast::websocket::request_type& req) { req.set(beast::http::field::cookie, cookie); }));
  ws.handshake("127.0.0.1", "/ws");
  for (int i = 0; i < 3; ++i) {
    const std::string msg = "hello " + std::to_string(i);
    ws.write(boost::asio::buffer(msg));
    beast::flat_buffer buf;
    ws.read(buf);
    EXPECT_EQ(beast::buffers_to_string(buf.data()), msg);
  }
  ws.close(beast::websocket::close_code::normal);
}

TEST_F(AgentE2eTest, StreamsFiftyMegabytesBothWaysWithBoundedMemory) {
  CreateRoom("shop", 10, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser user;
  ASSERT_TRUE(Enter(user, agents_[a]->port, "shop", "/").ok());
  const int64_t before = RssKb(agents_[a]->process.pid());
  const uint64_t kBytes = 50ull << 20;
  auto down = user.Get(agents_[a]->port, "/download?bytes=" + std::to_string(kBytes));
  ASSERT_TRUE(down.ok());
  EXPECT_EQ(down->body.size(), kBytes);
  auto up = user.Post(agents_[a]->port, "/upload", std::string(kBytes, 'u'));
  ASSERT_TRUE(up.ok());
  EXPECT_NE(up->body.find("\"bytes\":" + std::to_string(kBytes)), std::string::npos) << up->body;
  const int64_t after = RssKb(agents_[a]->process.pid());
  EXPECT_LT(after - before, 16 * 1024) << "the agent must stream, not buffer (KiB)";
}

TEST_F(AgentE2eTest, AdmittedUsersNeverSeeAnErrorWhileTheCoordinatorRestarts) {
  CreateRoom("shop", 10, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser user;
  ASSERT_TRUE(Enter(user, agents_[a]->port, "shop", "/").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, bad{0};
  std::thread traffic([&] {
    while (!stop) {
      auto p = user.Get(agents_[a]->port, "/");
      (p.ok() && p->status == 200 && p->body.find("Welcome") != std::string::npos ? ok : bad)++;
      std::this_thread::sleep_for(20ms);
    }
  });
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(coordinator_.Stop(SIGKILL, 10s).ok());
  std::this_thread::sleep_for(1500ms);  // Well past the agent's lease: it runs on fail_closed.
  ASSERT_TRUE(StartCoordinator());
  std::this_thread::sleep_for(1500ms);
  stop = true;
  traffic.join();
  EXPECT_GT(ok.load(), 50);
  EXPECT_EQ(bad.load(), 0);
  // The agent caught up and is ready again.
  EXPECT_TRUE(WaitAgentReady(a));
}

// While the coordinator is down the agent's channel backs off between connection attempts;
// once it is back, the agent's next Sync must find it, not gRPC's 5 s backup poll (which made
// agents 5-10 s late, and their queues stall, after every coordinator restart).
TEST_F(AgentE2eTest, TheAgentFindsARestartedCoordinatorWithoutWaitingForTheBackupPoll) {
  CreateRoom("shop", 10, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  ASSERT_TRUE(coordinator_.Stop(SIGKILL, 10s).ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = testing::HttpGet(agents_[a]->admin_port, "/readyz");
        return r.ok() && r->status == 503;
      },
      10s));
  std::this_thread::sleep_for(2s);  // Several failed attempts: the channel is in backoff.
  ASSERT_TRUE(StartCoordinator());
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(WaitAgentReady(a));
  // Ready means a Sync succeeded. Before the fix this took 5-10 s (gRPC's 5 s backup poll);
  // now the next reconnect attempt, at most the 2 s maximum backoff away, finds it.
  EXPECT_LT(std::chrono::steady_clock::now() - back, 4s);
}

TEST_F(AgentE2eTest, OnlyAgentsWithTheSyncTokenAreServedWhenTheCoordinatorWantsOne) {
  const std::string token_file = dir_ + "/sync-token";
  std::ofstream(token_file) << "agents-only\n";
  ASSERT_TRUE(coordinator_.Stop(SIGTERM, 10s).ok());
  ASSERT_TRUE(StartCoordinator({"--sync-token-file=" + token_file}));
  CreateRoom("shop", 10, 600);

  const int with_token = StartAgent({"--sync-token-file=" + token_file});
  const int without = StartAgent();
  ASSERT_TRUE(WaitAgentReady(with_token));
  Browser user;
  auto page = Enter(user, agents_[with_token]->port, "shop", "/");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->status, 200);

  // The agent without it is refused every Sync, so it never becomes ready.
  std::this_thread::sleep_for(1s);  // Five ticks.
  auto ready = testing::HttpGet(agents_[without]->admin_port, "/readyz");
  ASSERT_TRUE(ready.ok());
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("refuses our Sync token"), std::string::npos) << ready->body;
  auto metrics = testing::HttpGet(agents_[without]->admin_port, "/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("anteroom_agent_syncs_total{result=\"ok\"} 0\n"), std::string::npos)
      << metrics->body;
  EXPECT_EQ(metrics->body.find("anteroom_agent_syncs_total{result=\"failed\"} 0\n"),
            std::string::npos)
      << metrics->body;
}

TEST_F(AgentE2eTest, AnUnreadableSyncTokenFileStopsTheAgentNamingTheFlag) {
  ChildProcess agent;
  const std::string log = dir_ + "/bad-agent.log";
  ASSERT_TRUE(agent
                  .Start(AGENT_BIN,
                         {"--listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0",
                          "--coordinators=127.0.0.1:" + std::to_string(coordinator_port_),
                          "--default-upstream=127.0.0.1:" + std::to_string(origin_port_),
                          "--sync-token-file=" + dir_ + "/absent"},
                         log)
                  .ok());
  auto exit = agent.Stop(0, 10s);  // Signal 0: only wait for it to give up by itself.
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_NE(*exit, 0);
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("--sync-token-file: cannot read " + dir_ + "/absent"), std::string::npos)
      << text;
}

TEST_F(AgentE2eTest, MalformedRequestsGetClearErrorsAndTheAgentKeepsServing) {
  CreateRoom("shop", 10, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  auto raw = [&](const std::string& bytes) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s(io);
    s.connect({boost::asio::ip::make_address("127.0.0.1"),
               static_cast<unsigned short>(agents_[a]->port)});
    boost::asio::write(s, boost::asio::buffer(bytes));
    std::string reply(4096, '\0');
    boost::system::error_code ec;
    size_t n = s.read_some(boost::asio::buffer(reply), ec);
    reply.resize(n);
    return reply;
  };
  EXPECT_EQ(raw("GARBAGE\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
  EXPECT_EQ(raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n")
                .substr(0, 12),
            "HTTP/1.1 431");
  // Bad chunking shows once the body is read: on a request that goes to the origin.
  Browser user;
  ASSERT_TRUE(Enter(user, agents_[a]->port, "shop", "/").ok());
  EXPECT_EQ(raw("POST /upload HTTP/1.1\r\nHost: x\r\nCookie: " + user.CookieHeader() +
                "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
                .substr(0, 12),
            "HTTP/1.1 400");
  // And the agent keeps serving.
  auto page = user.Get(agents_[a]->port, "/");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("Welcome to shop"), std::string::npos);
}

TEST_F(AgentE2eTest, SigtermDrainsAndHandsTheBudgetBack) {
  CreateRoom("shop", 10, 600);
  const int a = StartAgent({"--drain-seconds=5"});
  ASSERT_TRUE(WaitAgentReady(a));
  auto agents_of_room = [&] {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    v1::GetRoomStatusRequest req;
    req.set_id("shop");
    v1::RoomStatus status;
    EXPECT_TRUE(admin_->GetRoomStatus(&ctx, req, &status).ok());
    return status;
  };
  // An idle agent holds a seat of budget.
  ASSERT_TRUE(WaitFor([&] { return agents_of_room().budget_outstanding() > 0; }, 10s));
  auto exit = agents_[a]->process.Stop(SIGTERM, 20s);
  ASSERT_TRUE(exit.ok());
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
  // The last Sync returned it: no budget out, and the agent is gone from the room's view.
  v1::RoomStatus after = agents_of_room();
  EXPECT_EQ(after.budget_outstanding(), 0);
  EXPECT_EQ(after.agents_size(), 0);
}

TEST_F(AgentE2eTest, ForwardAuthAnswersTheIngress) {
  CreateRoom("shop", 1, 600);
  const int a = StartAgent({"--mode=forward_auth"});
  ASSERT_TRUE(WaitAgentReady(a));
  Browser first, second;
  // The ingress asks /check with the original host and URI; 200 lets the request through.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto r = first.Get(agents_[a]->port, "/check");
        if (r.ok() && r->status == 200) return true;
        auto s = first.Get(agents_[a]->port, "/__anteroom/status?room=shop", "application/json");
        return false;
      },
      15s));
  EXPECT_NE(first.CookieHeader().find("anteroom_shop="), std::string::npos);
  auto r = second.Get(agents_[a]->port, "/check");
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->status, 400) << "a waiting user must not pass the ingress";
  EXPECT_EQ(r->headers["x-anteroom-status"], "queued");
}

}  // namespace
}  // namespace anteroom::agent
