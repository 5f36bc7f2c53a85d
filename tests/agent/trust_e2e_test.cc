// What a waiting room promises, checked from outside on the real binaries: the hard cap
// survives checkouts and replayed cookies, nobody waits under the limits, freed seats are
// taken at once, and the numbers a queued user is shown are distinct and honest. Clients are
// libcurl browsers with their own cookie jars and raw sockets that replay what they like.

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <regex>
#include <set>
#include <thread>

#include "tests/agent/e2e_fixture.h"

namespace anteroom::agent {
namespace {

// One HTTP/1.1 exchange over a raw socket, as a hostile or replaying client would make it.
struct RawReply {
  int status = 0;
  std::vector<std::string> set_cookies;  // Every Set-Cookie line, in order.
  std::string head;
  std::string body;
};

RawReply RawGet(int port, const std::string& path, const std::string& cookie,
                const std::string& accept = "") {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  s.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!cookie.empty()) req += "Cookie: " + cookie + "\r\n";
  if (!accept.empty()) req += "Accept: " + accept + "\r\n";
  req += "\r\n";
  boost::asio::write(s, boost::asio::buffer(req));
  std::string all;
  boost::system::error_code ec;
  char buf[8192];
  for (;;) {
    const size_t n = s.read_some(boost::asio::buffer(buf), ec);
    all.append(buf, n);
    if (ec) break;
  }
  RawReply r;
  const size_t end = all.find("\r\n\r\n");
  r.head = all.substr(0, end);
  r.body = end == std::string::npos ? "" : all.substr(end + 4);
  if (r.head.size() > 12) r.status = std::stoi(r.head.substr(9, 3));
  std::istringstream lines(r.head);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("Set-Cookie: ", 0) == 0 || line.rfind("set-cookie: ", 0) == 0) {
      r.set_cookies.push_back(line.substr(12));
    }
  }
  return r;
}

int64_t JsonInt(const std::string& body, const std::string& key) {
  const std::regex re("\"" + key + "\":(-?[0-9]+)");
  std::smatch m;
  if (!std::regex_search(body, m, re)) return -1;
  return std::stoll(m[1]);
}

class TrustE2eTest : public AgentE2eTest {
 protected:
  v1::RoomStatus Status(const std::string& room) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", std::string("Bearer ") + kToken);
    v1::GetRoomStatusRequest req;
    req.set_id(room);
    v1::RoomStatus status;
    EXPECT_TRUE(admin_->GetRoomStatus(&ctx, req, &status).ok());
    return status;
  }
  static bool Welcome(const absl::StatusOr<Page>& p) {
    return p.ok() && p->status == 200 && p->body.find("Welcome to shop") != std::string::npos;
  }
  static bool Welcome(const RawReply& r) {
    return r.status == 200 && r.body.find("Welcome to shop") != std::string::npos;
  }
};

// A checkout on the very request that renews the session: the renewed cookie must not follow
// the clearing one (browsers keep the last), or the user keeps a session whose seat is gone.
TEST_F(TrustE2eTest, ARevokeThatAlsoRenewsSendsOnlyTheClearingCookie) {
  CreateRoom("shop", 1, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser alice;
  ASSERT_TRUE(Welcome(Enter(alice, agents_[a]->port, "shop", "/")));
  const std::string cookie = alice.CookieHeader();
  // The session's slot moves at the next 10 s boundary; check out just after it.
  const auto admitted = std::chrono::system_clock::now();
  const auto tens = [](auto t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count() / 10;
  };
  while (tens(std::chrono::system_clock::now()) == tens(admitted))
    std::this_thread::sleep_for(50ms);
  std::this_thread::sleep_for(300ms);
  const RawReply out = RawGet(agents_[a]->port, "/checkout", cookie);
  ASSERT_EQ(out.status, 200) << out.head;
  int room_cookies = 0;
  for (const std::string& c : out.set_cookies) {
    if (c.rfind("anteroom_shop=", 0) == 0) {
      ++room_cookies;
      EXPECT_NE(c.find("Max-Age=0"), std::string::npos) << c;
    }
  }
  EXPECT_EQ(room_cookies, 1) << out.head;
  // The seat is free: the next user walks in, and the room counts one.
  Browser bob;
  EXPECT_TRUE(Welcome(Enter(bob, agents_[a]->port, "shop", "/")));
  EXPECT_TRUE(WaitFor([&] { return Status("shop").active() == 1; }, 5s));
}

// A revoked cookie, kept and replayed: refused by the agent that revoked it and by one that
// never saw the revoke, and replaying it to the checkout URL frees nobody else's seat.
TEST_F(TrustE2eTest, ARevokedCookieIsRefusedEverywhereAndFreesNothingTwice) {
  CreateRoom("shop", 1, 600);
  const int a = StartAgent(), b = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  ASSERT_TRUE(WaitAgentReady(b));
  Browser alice, carol;
  ASSERT_TRUE(Welcome(Enter(alice, agents_[a]->port, "shop", "/")));
  const std::string kept = alice.CookieHeader();
  ASSERT_EQ(carol.Get(agents_[a]->port, "/")->headers["x-anteroom-status"], "queued");
  ASSERT_TRUE(alice.Get(agents_[a]->port, "/checkout").ok());
  ASSERT_TRUE(Welcome(Enter(carol, agents_[a]->port, "shop", "/")));

  // Replayed at once where it was revoked, and a moment later (a Sync) at the other agent.
  RawReply here = RawGet(agents_[a]->port, "/", kept);
  EXPECT_FALSE(Welcome(here)) << here.head;
  EXPECT_NE(here.head.find("X-Anteroom-Status: queued"), std::string::npos) << here.head;
  std::this_thread::sleep_for(1s);
  RawReply there = RawGet(agents_[b]->port, "/", kept);
  EXPECT_FALSE(Welcome(there)) << there.head;
  // Replays to the revoking URL, at both agents, free nothing: Carol keeps the only seat.
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(Welcome(RawGet(agents_[a]->port, "/checkout", kept)));
    EXPECT_FALSE(Welcome(RawGet(agents_[b]->port, "/checkout", kept)));
  }
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(Status("shop").active(), 1);
  Browser dave;
  auto d = dave.Get(agents_[b]->port, "/");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->headers["x-anteroom-status"], "queued") << "the room is full";
  EXPECT_TRUE(Welcome(carol.Get(agents_[a]->port, "/")));
}

// max_session_duration: a session ends that long after admission however often it renews.
TEST_F(TrustE2eTest, AHardSessionCapEndsASessionHoweverOftenItRenews) {
  CreateRoom("shop", 1, 600, [](v1::Room& r) {
    r.set_session_duration_seconds(10);
    r.set_max_session_duration_seconds(20);
  });
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser alice, bob;
  ASSERT_TRUE(Welcome(Enter(alice, agents_[a]->port, "shop", "/")));
  const auto admitted = std::chrono::steady_clock::now();
  ASSERT_EQ(bob.Get(agents_[a]->port, "/")->headers["x-anteroom-status"], "queued");
  // Alice keeps clicking every second; Bob polls as his page would.
  std::chrono::steady_clock::duration alice_out{};
  while (std::chrono::steady_clock::now() - admitted < 40s) {
    auto p = alice.Get(agents_[a]->port, "/");
    if (!Welcome(p)) {
      alice_out = std::chrono::steady_clock::now() - admitted;
      break;
    }
    (void)bob.Get(agents_[a]->port, "/__anteroom/status?room=shop", "application/json");
    std::this_thread::sleep_for(1s);
  }
  ASSERT_NE(alice_out.count(), 0) << "the session renewed past its cap";
  EXPECT_LE(alice_out, 22s);
  EXPECT_TRUE(WaitAdmitted(bob, agents_[a]->port, "shop", 15s)) << "her seat went to Bob";
}

// Under the limits, nobody waits: a burst into an idle room through a freshly started agent.
TEST_F(TrustE2eTest, AFreshAgentLetsABurstIntoAnIdleRoomStraightThrough) {
  CreateRoom("shop", 100, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  constexpr int kUsers = 12;
  std::atomic<int> welcomed{0};
  std::vector<std::thread> crowd;
  for (int i = 0; i < kUsers; ++i) {
    crowd.emplace_back([&] {
      Browser b;
      if (Welcome(b.Get(agents_[a]->port, "/"))) ++welcomed;
    });
  }
  for (auto& t : crowd) t.join();
  EXPECT_EQ(welcomed.load(), kUsers) << "every one of them on the first request";
}

TEST_F(TrustE2eTest, AOneSeatRoomLetsItsVeryFirstUserIn) {
  CreateRoom("shop", 1, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser first;
  auto p = first.Get(agents_[a]->port, "/");
  EXPECT_TRUE(Welcome(p)) << (p.ok() ? p->body.substr(0, 300) : p.status().ToString());
}

// Users who saw the waiting page and left do not make later newcomers queue once seats free,
// even with the room's default 20 s refresh (they stay counted for two of them).
TEST_F(TrustE2eTest, UsersWhoLeftTheWaitingPageDoNotMakeNewcomersQueue) {
  CreateRoom("shop", 2, 600, [](v1::Room& r) { r.set_refresh_interval_seconds(20); });
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser alice, bob;
  ASSERT_TRUE(Welcome(Enter(alice, agents_[a]->port, "shop", "/")));
  ASSERT_TRUE(Welcome(Enter(bob, agents_[a]->port, "shop", "/")));
  for (int i = 0; i < 3; ++i) {
    Browser leaver;  // Sees the waiting page once, closes the tab.
    ASSERT_EQ(leaver.Get(agents_[a]->port, "/")->headers["x-anteroom-status"], "queued");
  }
  std::this_thread::sleep_for(1s);
  ASSERT_TRUE(alice.Get(agents_[a]->port, "/checkout").ok());
  ASSERT_TRUE(bob.Get(agents_[a]->port, "/checkout").ok());
  // Well within the 40 s the leavers stay counted.
  std::this_thread::sleep_for(8s);
  ASSERT_GT(Status("shop").waiting(), 0) << "the leavers are still counted";
  Browser newcomer;
  auto in = newcomer.Get(agents_[a]->port, "/", "application/json");
  EXPECT_TRUE(Welcome(in)) << Status("shop").ShortDebugString() << "\n"
                           << (in.ok() ? in->body.substr(0, 400) : in.status().ToString());
}

// A 1-seat room whose only user checks out admits the next in line within 2 s, with the
// production tick and the page polling as the agent tells it to.
class ProductionTickE2eTest : public TrustE2eTest {
 protected:
  ProductionTickE2eTest() { sync_interval_ms_ = 500; }
};

TEST_F(ProductionTickE2eTest, ACheckoutInAOneSeatRoomLetsTheNextUserInWithinTwoSeconds) {
  CreateRoom("shop", 1, 600, [](v1::Room& r) {
    r.set_refresh_interval_seconds(20);
    r.set_session_duration_seconds(300);
  });
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  for (int round = 0; round < 3; ++round) {
    Browser holder, next;
    ASSERT_TRUE(Welcome(Enter(holder, agents_[a]->port, "shop", "/")));
    auto first = next.Get(agents_[a]->port, "/", "application/json");
    ASSERT_EQ(first->headers["x-anteroom-status"], "queued");
    std::this_thread::sleep_for(3s);  // Settled in line, told to poll at its own pace.
    std::atomic<bool> in{false};
    std::atomic<int64_t> in_at_ms{0};
    std::thread page([&] {
      int64_t after = 1;
      const auto until = std::chrono::steady_clock::now() + 30s;
      while (!in && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::seconds(after));
        auto s = next.Get(agents_[a]->port, "/__anteroom/status?room=shop", "application/json");
        if (!s.ok()) continue;
        if (s->body.find("\"admitted\"") != std::string::npos) {
          in_at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
          in = true;
        }
        after = std::max<int64_t>(1, JsonInt(s->body, "refresh_after_seconds"));
      }
    });
    std::this_thread::sleep_for(2500ms);
    const int64_t out_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
    ASSERT_TRUE(holder.Get(agents_[a]->port, "/checkout").ok());
    page.join();
    ASSERT_TRUE(in.load()) << "round " << round;
    EXPECT_LE(in_at_ms.load() - out_ms, 2000) << "round " << round;
    ASSERT_TRUE(next.Get(agents_[a]->port, "/checkout").ok());
    std::this_thread::sleep_for(1s);
  }
}

// Queued users who arrive in the same second each get their own place from the first answer,
// and nobody behind the front is promised an ETA of 0.
TEST_F(TrustE2eTest, QueuedUsersOfOneSecondGetDistinctPositionsFromTheirFirstAnswer) {
  CreateRoom("shop", 1, 600);
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser holder;
  ASSERT_TRUE(Welcome(Enter(holder, agents_[a]->port, "shop", "/")));
  std::vector<std::unique_ptr<Browser>> crowd;
  std::set<int64_t> positions;
  for (int i = 0; i < 6; ++i) {
    crowd.push_back(std::make_unique<Browser>());
    auto p = crowd.back()->Get(agents_[a]->port, "/", "application/json");
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->headers["x-anteroom-status"], "queued") << p->body;
    const int64_t position = JsonInt(p->body, "position");
    const int64_t eta = JsonInt(p->body, "eta_seconds");
    EXPECT_TRUE(positions.insert(position).second) << "position " << position << " twice";
    if (position > 1) {
      EXPECT_GT(eta, 0) << p->body;
    }
  }
  EXPECT_EQ(*positions.begin(), 1);
  EXPECT_EQ(*positions.rbegin(), 6);
}

// Before the event starts: the time until the start, no position before the shuffle, and a
// page that polls at the room's pace, not every second.
TEST_F(TrustE2eTest, APrequeueShowsTheTimeToTheStartAndNoPositionBeforeTheShuffle) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  CreateRoom("shop", 10, 600, [&](v1::Room& r) {
    r.set_refresh_interval_seconds(20);
    r.mutable_event()->set_prequeue_start_unix(now - 60);
    r.mutable_event()->set_start_unix(now + 300);
    r.mutable_event()->set_shuffle_at_event_start(true);
  });
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser early;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto p = early.Get(agents_[a]->port, "/__anteroom/status?room=shop", "application/json");
        return p.ok() && p->body.find("\"prequeue\":true") != std::string::npos;
      },
      10s));
  auto p = early.Get(agents_[a]->port, "/__anteroom/status?room=shop", "application/json");
  ASSERT_TRUE(p.ok());
  EXPECT_NE(p->body.find("\"position\":null"), std::string::npos) << p->body;
  const int64_t eta = JsonInt(p->body, "eta_seconds");
  EXPECT_GE(eta, 280) << p->body;
  EXPECT_LE(eta, 305) << p->body;
  EXPECT_EQ(JsonInt(p->body, "refresh_after_seconds"), 20) << p->body;
}

// A queued place is lost when its user has not been seen for the room's grace: replaying the
// old cookie later gives a newcomer's place, behind those who kept waiting.
TEST_F(TrustE2eTest, AQueuedPlaceExpiresWhenItsUserIsGoneLongerThanTheGrace) {
  CreateRoom("shop", 1, 600, [](v1::Room& r) {
    r.set_refresh_interval_seconds(2);
    r.set_abandon_grace_seconds(4);
  });
  const int a = StartAgent();
  ASSERT_TRUE(WaitAgentReady(a));
  Browser holder, leaver, stayer;
  ASSERT_TRUE(Welcome(Enter(holder, agents_[a]->port, "shop", "/")));
  auto first = leaver.Get(agents_[a]->port, "/");
  ASSERT_EQ(first->headers["x-anteroom-status"], "queued");
  const std::string kept = leaver.CookieHeader();
  ASSERT_NE(first->headers["set-cookie"].find("Max-Age=6"), std::string::npos)
      << "the queued cookie lasts the grace and a refresh: " << first->headers["set-cookie"];
  std::this_thread::sleep_for(1100ms);
  ASSERT_EQ(stayer.Get(agents_[a]->port, "/")->headers["x-anteroom-status"], "queued");
  // The stayer keeps polling for 10 s; the leaver is away.
  for (int i = 0; i < 10; ++i) {
    (void)holder.Get(agents_[a]->port, "/");
    (void)stayer.Get(agents_[a]->port, "/__anteroom/status?room=shop", "application/json");
    std::this_thread::sleep_for(1s);
  }
  const RawReply back = RawGet(agents_[a]->port, "/__anteroom/status?room=shop", kept);
  const RawReply stays =
      RawGet(agents_[a]->port, "/__anteroom/status?room=shop", stayer.CookieHeader());
  const int64_t back_at = JsonInt(back.body, "position");
  const int64_t stays_at = JsonInt(stays.body, "position");
  EXPECT_GT(back_at, stays_at) << back.body << " / " << stays.body;
  ASSERT_FALSE(back.set_cookies.empty()) << "a newcomer's cookie";
}

}  // namespace
}  // namespace anteroom::agent
