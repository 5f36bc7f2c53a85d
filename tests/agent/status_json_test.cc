#include "agent/status_json.h"

#include <gtest/gtest.h>

#include <string>

namespace anteroom::agent {
namespace {

PageModel Queued() {
  PageModel model;
  model.room_id = "shop";
  model.status = "queued";
  model.position = 12;
  model.eta_seconds = 95;
  model.refresh_after_seconds = 2;
  model.progress = 0.25;
  return model;
}

TEST(StatusJsonTest, Queued) {
  EXPECT_EQ(RenderStatusJson(Queued()),
            R"({"status":"queued","position":12,"eta_seconds":95,"refresh_after_seconds":2,)"
            R"("room":"shop","progress":0.25})");
}

TEST(StatusJsonTest, Prequeue) {
  PageModel model = Queued();
  model.prequeue = true;
  model.event_start_unix = 1767225600;
  model.progress = 0;
  EXPECT_EQ(RenderStatusJson(model),
            R"({"status":"queued","position":12,"eta_seconds":95,"refresh_after_seconds":2,)"
            R"("room":"shop","progress":0,"prequeue":true,"event_start_unix":1767225600})");
}

TEST(StatusJsonTest, AdmittedAsTheHandlerBuildsIt) {
  PageModel model;
  model.room_id = "shop";
  model.status = "admitted";
  model.refresh_after_seconds = 0;
  model.progress = 1;
  EXPECT_EQ(RenderStatusJson(model),
            R"({"status":"admitted","position":null,"eta_seconds":0,"refresh_after_seconds":0,)"
            R"("room":"shop","progress":1})");
}

TEST(StatusJsonTest, ClosedHasNoProgress) {
  PageModel model;
  model.room_id = "shop";
  model.status = "closed";
  model.refresh_after_seconds = 20;
  EXPECT_EQ(RenderStatusJson(model),
            R"({"status":"closed","position":null,"eta_seconds":0,"refresh_after_seconds":20,)"
            R"("room":"shop"})");
}

TEST(StatusJsonTest, UnknownValuesAreNullAndNegativesClamped) {
  PageModel model = Queued();
  model.position = 0;
  model.eta_seconds = -1;
  model.refresh_after_seconds = -4;
  model.progress = -0.5;
  EXPECT_EQ(RenderStatusJson(model), R"({"status":"queued","position":null,"eta_seconds":null,)"
                                     R"("refresh_after_seconds":0,"room":"shop","progress":0})");
}

TEST(StatusJsonTest, ProgressHasAtMostThreeDecimals) {
  const std::pair<double, std::string> cases[] = {
      {0.0, "0"},
      {0.0004, "0"},
      {0.0005, "0.001"},
      {0.1, "0.1"},
      {1.0 / 3, "0.333"},
      {0.5, "0.5"},
      {0.9996, "1"},
      {0.999, "0.999"},
      {1.0, "1"},
      {42.0, "1"},
      {std::numeric_limits<double>::quiet_NaN(), "0"},
  };
  for (const auto& [progress, text] : cases) {
    PageModel model = Queued();
    model.progress = progress;
    EXPECT_EQ(RenderStatusJson(model),
              R"({"status":"queued","position":12,"eta_seconds":95,"refresh_after_seconds":2,)"
              R"("room":"shop","progress":)" +
                  text + "}")
        << progress;
  }
}

TEST(StatusJsonTest, EscapesStrings) {
  PageModel model = Queued();
  model.room_id = "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f é ☃ 😀</script>";
  EXPECT_EQ(RenderStatusJson(model),
            R"({"status":"queued","position":12,"eta_seconds":95,"refresh_after_seconds":2,)"
            R"("room":"a\"b\\c/\n\r\t\b\f\u0001\u001f)"
            "\x7f é ☃ 😀</script>"
            R"(","progress":0.25})");
}

TEST(StatusJsonTest, InvalidUtf8BecomesReplacementCharacters) {
  PageModel model = Queued();
  // A stray continuation byte, a truncated sequence, an overlong "/", a surrogate.
  model.room_id = "x\x80y\xe2\x82z\xc0\xafw\xed\xa0\x80";
  const std::string json = RenderStatusJson(model);
  EXPECT_NE(json.find(R"("room":"x\ufffdy\ufffd\ufffdz\ufffd\ufffdw\ufffd\ufffd\ufffd")"),
            std::string::npos)
      << json;
}

TEST(StatusJsonTest, ExtremeNumbers) {
  PageModel model = Queued();
  model.position = std::numeric_limits<int64_t>::max();
  model.eta_seconds = std::numeric_limits<int64_t>::max();
  const std::string json = RenderStatusJson(model);
  EXPECT_NE(json.find(R"("position":9223372036854775807,"eta_seconds":9223372036854775807,)"),
            std::string::npos)
      << json;
}

}  // namespace
}  // namespace anteroom::agent
