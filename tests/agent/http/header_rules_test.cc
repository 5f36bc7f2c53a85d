#include "agent/http/header_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace anteroom::agent::http {
namespace {

using bhttp::field;

MessageHead Request(std::vector<Field> fields) {
  MessageHead head;
  head.method = bhttp::verb::get;
  head.method_string = "GET";
  head.target = "/shop?x=1";
  head.version = 11;
  head.fields = std::move(fields);
  return head;
}

TEST(HeaderRulesTest, NormalizesHost) {
  std::string storage;
  EXPECT_EQ(NormalizeHost("example.com", storage), "example.com");
  EXPECT_EQ(NormalizeHost("Example.COM:8080", storage), "example.com");
  EXPECT_EQ(NormalizeHost("[::1]:80", storage), "[::1]");
  EXPECT_EQ(NormalizeHost(" shop.example ", storage), "shop.example");
  EXPECT_EQ(NormalizeHost("", storage), "");
}

TEST(HeaderRulesTest, FindsTokensCaseInsensitively) {
  EXPECT_TRUE(HasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(HasToken(" ,close ,", "close"));
  EXPECT_FALSE(HasToken("upgrade-insecure", "upgrade"));
  EXPECT_FALSE(HasToken("", "close"));
}

TEST(HeaderRulesTest, AcceptsOnlyPlainChunkedTransferEncoding) {
  EXPECT_TRUE(TransferEncodingSupported({}));
  EXPECT_TRUE(
      TransferEncodingSupported({{field::transfer_encoding, "Transfer-Encoding", "Chunked"}}));
  EXPECT_FALSE(
      TransferEncodingSupported({{field::transfer_encoding, "Transfer-Encoding", "gzip"}}));
  EXPECT_FALSE(TransferEncodingSupported(
      {{field::transfer_encoding, "Transfer-Encoding", "gzip, chunked"}}));
  EXPECT_FALSE(
      TransferEncodingSupported({{field::transfer_encoding, "Transfer-Encoding", "chunked"},
                                 {field::transfer_encoding, "Transfer-Encoding", "chunked"}}));
}

TEST(HeaderRulesTest, UpstreamRequestDropsHopByHopAndAddsForwarded) {
  MessageHead head = Request({
      {field::host, "Host", "Shop.Example:8080"},
      {field::connection, "Connection", "keep-alive, X-Secret"},
      {field::unknown, "X-Secret", "s"},
      {field::keep_alive, "Keep-Alive", "timeout=5"},
      {field::proxy_connection, "Proxy-Connection", "keep-alive"},
      {field::te, "TE", "trailers, deflate"},
      {field::upgrade, "Upgrade", "h2c"},
      {field::expect, "Expect", "100-continue"},
      {field::unknown, "X-Forwarded-For", "203.0.113.1"},
      {field::unknown, "x-forwarded-for", "198.51.100.2"},
      {field::unknown, "X-Forwarded-Proto", "https"},
      {field::proxy_authorization, "Proxy-Authorization", "Basic eA=="},
      {field::cookie, "Cookie", "a=1"},
  });
  UpstreamRequestFacts facts;
  facts.client_ip = "127.0.0.1";
  std::string out;
  AppendUpstreamRequestHead(head, facts, out);
  EXPECT_EQ(out,
            "GET /shop?x=1 HTTP/1.1\r\n"
            "Host: Shop.Example:8080\r\n"
            "Proxy-Authorization: Basic eA==\r\n"
            "Cookie: a=1\r\n"
            "TE: trailers\r\n"
            "X-Forwarded-For: 203.0.113.1, 198.51.100.2, 127.0.0.1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "X-Forwarded-Host: Shop.Example:8080\r\n"
            "\r\n");
}

TEST(HeaderRulesTest, UpstreamRequestKeepsWebSocketUpgradeAndReframes) {
  MessageHead head = Request({
      {field::connection, "Connection", "Upgrade"},
      {field::upgrade, "Upgrade", "websocket"},
      {field::transfer_encoding, "Transfer-Encoding", "chunked"},
  });
  UpstreamRequestFacts facts;
  facts.client_ip = "::1";
  facts.websocket = true;
  facts.chunked = true;
  facts.fallback_host = "origin:80";
  std::string out;
  AppendUpstreamRequestHead(head, facts, out);
  EXPECT_EQ(out,
            "GET /shop?x=1 HTTP/1.1\r\n"
            "Connection: upgrade\r\n"
            "Upgrade: websocket\r\n"
            "Transfer-Encoding: chunked\r\n"
            "Host: origin:80\r\n"
            "X-Forwarded-For: ::1\r\n"
            "X-Forwarded-Proto: http\r\n"
            "\r\n");
}

TEST(HeaderRulesTest, ClientResponseStripsCommandAndHopByHop) {
  MessageHead head;
  head.status = 200;
  head.reason = "OK";
  head.fields = {
      {field::content_type, "Content-Type", "text/html"},
      {field::connection, "Connection", "X-Hop"},
      {field::unknown, "X-Hop", "1"},
      {field::unknown, "X-Anteroom-Command", "release"},
      {field::transfer_encoding, "Transfer-Encoding", "chunked"},
      {field::keep_alive, "Keep-Alive", "timeout=5"},
      {field::trailer, "Trailer", "X-Checksum"},
  };
  ClientResponseFacts facts;
  facts.framing = Framing::kChunked;
  std::string out;
  AppendClientResponseHead(head, facts, {{"Set-Cookie", "end=1"}}, {{"Set-Cookie", "room=a"}}, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\n"
            "Content-Type: text/html\r\n"
            "Trailer: X-Checksum\r\n"
            "Set-Cookie: end=1\r\n"
            "Set-Cookie: room=a\r\n"
            "Transfer-Encoding: chunked\r\n"
            "\r\n");
  EXPECT_EQ(AnteroomCommand(head.fields), "release");
}

TEST(HeaderRulesTest, ClientResponseConnectionHeaders) {
  MessageHead head;
  head.status = 204;
  std::string out;
  ClientResponseFacts facts;
  facts.framing = Framing::kNone;
  facts.keep_alive = false;
  AppendClientResponseHead(head, facts, {}, {}, out);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  facts.keep_alive = true;
  facts.http10_client = true;
  AppendClientResponseHead(head, facts, {}, {}, out);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n");
}

TEST(HeaderRulesTest, LocalResponseAddsNoStoreUnlessSet) {
  std::string out;
  AppendLocalResponseHead(503, "text/html", 4, {{"Retry-After", "5"}}, true, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\n"
            "Content-Type: text/html\r\n"
            "Content-Length: 4\r\n"
            "Retry-After: 5\r\n"
            "Cache-Control: no-store\r\n"
            "\r\n");
  AppendLocalResponseHead(200, "", 0, {{"cache-control", "max-age=60"}}, false, false, out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\n"
            "Content-Length: 0\r\n"
            "cache-control: max-age=60\r\n"
            "Connection: close\r\n"
            "\r\n");
}

TEST(HeaderRulesTest, FormatsChunkHeaders) {
  std::array<char, 24> buffer{};
  EXPECT_EQ(ChunkHeader(0x1a3f, buffer), "1a3f\r\n");
  EXPECT_EQ(ChunkHeader(1, buffer), "1\r\n");
}

TEST(HeaderRulesTest, KnowsIdempotentMethods) {
  EXPECT_TRUE(IsIdempotent(bhttp::verb::get));
  EXPECT_TRUE(IsIdempotent(bhttp::verb::put));
  EXPECT_FALSE(IsIdempotent(bhttp::verb::post));
  EXPECT_FALSE(IsIdempotent(bhttp::verb::patch));
}

}  // namespace
}  // namespace anteroom::agent::http
