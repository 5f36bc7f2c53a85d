#include "agent/waiting_page.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "common/page_text.h"

namespace anteroom::agent {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

PageModel Model() {
  PageModel model;
  model.room_id = "shop";
  model.title = "Big Sale";
  model.status = "queued";
  model.position = 42;
  model.eta_seconds = 300;
  model.refresh_after_seconds = 20;
  model.progress = 0.375;
  model.status_url = "/__anteroom/status?room=shop";
  return model;
}

v1::Room Room() {
  v1::Room room;
  room.set_id("shop");
  room.set_queueing_method(v1::QUEUEING_METHOD_FIFO);
  return room;
}

WaitingPages Pages(const v1::Room& room) {
  absl::StatusOr<WaitingPages> pages = WaitingPages::ForRoom(room);
  EXPECT_TRUE(pages.ok()) << pages.status();
  return pages.ok() ? *std::move(pages) : WaitingPages();
}

size_t Count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string_view::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(BuiltInQueuePageTest, HasTheAccessibleStructure) {
  const std::string html = Pages(Room()).RenderQueued(Model(), "en-US,en;q=0.9");
  EXPECT_THAT(html, StartsWith("<!doctype html>\n<html lang=\"en\">"));
  EXPECT_THAT(html, HasSubstr("<meta charset=\"utf-8\">"));
  EXPECT_THAT(html, HasSubstr("<meta name=\"viewport\" content=\"width=device-width,"));
  EXPECT_THAT(html, HasSubstr("<title>You are in line · Big Sale</title>"));
  EXPECT_THAT(html, HasSubstr("<p class=\"site\">Big Sale</p>\n<h1>You are in line</h1>"));
  EXPECT_THAT(html, HasSubstr("<dl aria-live=\"polite\" aria-atomic=\"true\">"));
  EXPECT_THAT(html, HasSubstr("<dt>Your position</dt><dd id=\"aq-pos\">42</dd>"));
  EXPECT_THAT(html, HasSubstr("<dt>Estimated wait</dt><dd id=\"aq-eta\">about 5 minutes</dd>"));
  // 0.375 -> 38%, as text beside the bar and as the bar's value.
  EXPECT_THAT(html, HasSubstr("<span id=\"aq-pl\">Progress</span><span id=\"aq-pct\">38%</span>"));
  EXPECT_THAT(html, HasSubstr("<progress id=\"aq-bar\" max=\"100\" value=\"38\" "
                              "aria-labelledby=\"aq-pl\">38%</progress>"));
  EXPECT_THAT(html, HasSubstr("This page refreshes automatically."));
  EXPECT_THAT(html, HasSubstr("<noscript><p>JavaScript is off"));
}

TEST(BuiltInQueuePageTest, ReloadsWithoutJavaScriptAndPollsWithIt) {
  const std::string html = Pages(Room()).RenderQueued(Model(), "");
  // Without JavaScript the browser reloads; with it the script polls (and the meta refresh,
  // inside <noscript>, is ignored).
  EXPECT_THAT(html, HasSubstr("<noscript><meta http-equiv=\"refresh\" content=\"20\"></noscript>"));
  EXPECT_THAT(html, HasSubstr("<main id=\"aq\" data-url=\"/__anteroom/status?room=shop\" "
                              "data-refresh=\"20\" data-prequeue=\"false\""));
  EXPECT_THAT(html, HasSubstr("data-eta-m=\"about {n} minutes\""));
  EXPECT_THAT(html, HasSubstr("headers:{Accept:\"application/json\"},credentials:\"same-origin\""));
  EXPECT_THAT(html, HasSubstr("location.reload()"));
  EXPECT_THAT(html, HasSubstr("j.status!==\"queued\""));
}

TEST(BuiltInQueuePageTest, RefreshFollowsTheModel) {
  PageModel model = Model();
  model.refresh_after_seconds = 2;
  std::string html = Pages(Room()).RenderQueued(model, "");
  EXPECT_THAT(html, HasSubstr("<meta http-equiv=\"refresh\" content=\"2\">"));
  EXPECT_THAT(html, HasSubstr("data-refresh=\"2\""));
  model.refresh_after_seconds = 0;  // Never a refresh loop with no pause.
  html = Pages(Room()).RenderQueued(model, "");
  EXPECT_THAT(html, HasSubstr("<meta http-equiv=\"refresh\" content=\"1\">"));
}

TEST(BuiltInQueuePageTest, IsSmallAndSelfContained) {
  const std::string html = Pages(Room()).RenderQueued(Model(), "");
  EXPECT_LT(html.size(), 12u * 1024);
  for (std::string_view external :
       {"http:", "https:", "//", "src=", "@import", "url(", "<iframe", "<img"}) {
    EXPECT_THAT(html, Not(HasSubstr(external))) << external;
  }
  // The one link is an empty inline icon, so the browser does not ask for /favicon.ico.
  EXPECT_EQ(Count(html, "<link"), 1u);
  EXPECT_THAT(html, HasSubstr("<link rel=\"icon\" href=\"data:,\">"));
  EXPECT_EQ(Count(html, "<script>"), 1u);
  EXPECT_EQ(Count(html, "<style>"), 1u);
}

TEST(BuiltInQueuePageTest, EscapesTheTitleAndStatusUrl) {
  v1::Room room = Room();
  PageModel model = Model();
  model.title = "<script>alert('x')</script> & \"Co\"";
  model.status_url = "/s?\"><script>";
  const std::string html = Pages(room).RenderQueued(model, "");
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
                              "&quot;Co&quot;"));
  EXPECT_THAT(html, HasSubstr("data-url=\"/s?&quot;&gt;&lt;script&gt;\""));
  EXPECT_EQ(Count(html, "<script>"), 1u);  // Only our own.
  EXPECT_THAT(html, Not(HasSubstr("alert('x')")));
}

TEST(BuiltInQueuePageTest, EveryLanguageRendersThePositionAndItsWords) {
  PageModel model = Model();
  model.position = 1234;
  model.eta_seconds = 7 * 60;
  for (const PageText& text : AllPageTexts()) {
    const std::string header = std::string(text.code) + "-XX;q=0.9, en;q=0.1";
    const std::string html = Pages(Room()).RenderQueued(model, header);
    EXPECT_THAT(html, AllOf(HasSubstr("<html lang=\"" + std::string(text.code) + "\">"),
                            HasSubstr("<dd id=\"aq-pos\">1234</dd>"),
                            HasSubstr("<h1>" + std::string(text.queued_heading) + "</h1>"),
                            HasSubstr("<dt>" + std::string(text.position_label) + "</dt>"),
                            HasSubstr(">" + HumanEta(7 * 60, text) + "</dd>"),
                            HasSubstr(std::string(text.noscript_note))))
        << text.code;
    EXPECT_LT(html.size(), 12u * 1024) << text.code;
  }
}

TEST(BuiltInQueuePageTest, UnknownPositionAndEstimate) {
  PageModel model = Model();
  model.position = 0;
  model.eta_seconds = -1;
  const std::string html = Pages(Room()).RenderQueued(model, "de");
  EXPECT_THAT(html, HasSubstr("<dd id=\"aq-pos\">—</dd>"));
  EXPECT_THAT(html, HasSubstr("<dd id=\"aq-eta\">noch unbekannt</dd>"));
}

TEST(BuiltInQueuePageTest, PrequeueShowsTheStartTimeAndNoProgress) {
  PageModel model = Model();
  model.prequeue = true;
  model.event_start_unix = 1748772000;
  const std::string html = Pages(Room()).RenderQueued(model, "fr");
  EXPECT_THAT(html, HasSubstr("<h1>Vous êtes en avance</h1>"));
  EXPECT_THAT(html,
              HasSubstr("<p class=\"when\">La vente commence le <time "
                        "datetime=\"2025-06-01T10:00:00Z\">2025-06-01 10:00 UTC</time>.</p>"));
  EXPECT_THAT(html, HasSubstr("data-prequeue=\"true\""));
  EXPECT_THAT(html, Not(HasSubstr("<progress")));
}

TEST(BuiltInQueuePageTest, AdmittedPageGoesStraightOn) {
  PageModel model = Model();
  model.status = "admitted";
  const std::string html = Pages(Room()).RenderQueued(model, "it");
  EXPECT_THAT(html, HasSubstr("<meta http-equiv=\"refresh\" content=\"1\">"));
  EXPECT_THAT(html, Not(HasSubstr("<noscript>")));
  EXPECT_THAT(html, HasSubstr("<h1>È il tuo turno</h1>"));
  EXPECT_THAT(html, HasSubstr("<a class=\"button\" href=\"\">Continua</a>"));
  EXPECT_THAT(html, Not(HasSubstr("<script>")));
}

TEST(BuiltInClosedPageTest, IsShortPoliteAndStatic) {
  PageModel model = Model();
  model.status = "closed";
  const std::string html = Pages(Room()).RenderClosed(model, "de-DE,de;q=0.9");
  EXPECT_THAT(html, StartsWith("<!doctype html>\n<html lang=\"de\">"));
  EXPECT_THAT(html, HasSubstr("<title>Diese Seite ist geschlossen · Big Sale</title>"));
  EXPECT_THAT(html, HasSubstr("<h1>Diese Seite ist geschlossen</h1>"));
  EXPECT_THAT(html, HasSubstr("Bitte versuchen Sie es später erneut."));
  EXPECT_THAT(html, HasSubstr("<a class=\"button\" href=\"\">Erneut versuchen</a>"));
  EXPECT_THAT(html, Not(HasSubstr("http-equiv=\"refresh\"")));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_LT(html.size(), 8u * 1024);
}

TEST(WaitingPagesTest, DefaultLanguageComesFromTheRoom) {
  v1::Room room = Room();
  room.mutable_page()->set_default_language("de");
  const WaitingPages pages = Pages(room);
  EXPECT_THAT(pages.RenderQueued(Model(), ""), HasSubstr("<html lang=\"de\">"));
  EXPECT_THAT(pages.RenderQueued(Model(), "ja"), HasSubstr("<html lang=\"de\">"));
  EXPECT_THAT(pages.RenderQueued(Model(), "fr-CA"), HasSubstr("<html lang=\"fr\">"));
}

TEST(WaitingPagesTest, TitleFallsBackToTheRoomsThenItsId) {
  v1::Room room = Room();
  PageModel model = Model();
  model.title.clear();
  EXPECT_THAT(Pages(room).RenderQueued(model, ""), HasSubstr("<p class=\"site\">shop</p>"));
  room.mutable_page()->set_title("Tickets");
  EXPECT_THAT(Pages(room).RenderQueued(model, ""), HasSubstr("<p class=\"site\">Tickets</p>"));
}

TEST(WaitingPagesTest, RendersTheOperatorsTemplate) {
  v1::Room room = Room();
  room.mutable_page()->set_custom_html(
      "<html lang=\"{{lang}}\"><h1>{{title}}</h1>{{position}}, "
      "{{eta}}</html>");
  const WaitingPages pages = Pages(room);
  EXPECT_EQ(pages.RenderQueued(Model(), "es"),
            "<html lang=\"es\"><h1>Big Sale</h1>42, aproximadamente 5 minutos</html>");
  // The closed page of a queueing room stays the built-in one.
  PageModel closed = Model();
  closed.status = "closed";
  EXPECT_THAT(pages.RenderClosed(closed, ""), HasSubstr("<h1>This page is closed</h1>"));
}

TEST(WaitingPagesTest, TemplateErrorsNameTheField) {
  v1::Room room = Room();
  room.mutable_page()->set_custom_html("<p>\n{{postion}}");
  absl::StatusOr<WaitingPages> pages = WaitingPages::ForRoom(room);
  ASSERT_FALSE(pages.ok());
  EXPECT_EQ(pages.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(pages.status().message()),
              StartsWith("room.page.custom_html: line 2, column 1: unknown placeholder "
                         "{{postion}} (did you mean {{position}}?)"));

  room = Room();
  room.mutable_page()->set_custom_html("<p>{{title}}</p>");
  pages = WaitingPages::ForRoom(room);
  ASSERT_FALSE(pages.ok());
  EXPECT_EQ(pages.status().message(),
            "room.page.custom_html: a waiting page must show users where they stand: use "
            "{{position}}, {{eta}} or {{eta_seconds}}");

  room = Room();
  room.mutable_event()->mutable_overrides()->mutable_page()->set_custom_html("{{eta");
  pages = WaitingPages::ForRoom(room);
  ASSERT_FALSE(pages.ok());
  EXPECT_THAT(std::string(pages.status().message()),
              StartsWith("room.event.overrides.page.custom_html: line 1, column 1: \"{{\" is "
                         "not closed"));
}

TEST(WaitingPagesTest, EventPageSettingsApplyWhileTheEventRuns) {
  v1::Room room = Room();
  room.mutable_page()->set_custom_html("room {{position}} {{title}} {{lang}}");
  room.mutable_page()->set_title("Shop");
  v1::PageSettings* event = room.mutable_event()->mutable_overrides()->mutable_page();
  event->set_custom_html("event {{position}} {{title}} {{lang}}");
  event->set_title("Launch day");
  event->set_default_language("it");
  const WaitingPages pages = Pages(room);

  PageModel model = Model();
  EXPECT_EQ(pages.RenderQueued(model, ""), "room 42 Big Sale en");
  model.event_active = true;
  EXPECT_EQ(pages.RenderQueued(model, ""), "event 42 Launch day it");
  EXPECT_EQ(pages.RenderQueued(model, "de"), "event 42 Launch day de");
}

TEST(WaitingPagesTest, EmptyEventSettingsKeepTheRooms) {
  v1::Room room = Room();
  room.mutable_page()->set_custom_html("room {{position}} {{lang}}");
  room.mutable_page()->set_default_language("nl");
  room.mutable_event()->mutable_overrides()->set_total_active_users(5);
  const WaitingPages pages = Pages(room);
  PageModel model = Model();
  model.event_active = true;
  EXPECT_EQ(pages.RenderQueued(model, ""), "room 42 nl");
}

TEST(WaitingPagesTest, RejectRoomsUseTheTemplateAsTheClosedPage) {
  v1::Room room = Room();
  room.set_queueing_method(v1::QUEUEING_METHOD_REJECT);
  room.mutable_page()->set_custom_html("<h1>{{title}} is closed</h1>");
  const WaitingPages pages = Pages(room);
  PageModel model = Model();
  model.status = "closed";
  model.title = "<Shop>";
  EXPECT_EQ(pages.RenderClosed(model, ""), "<h1>&lt;Shop&gt; is closed</h1>");
  // Such a room never queues, but if asked the queue page is still a working one.
  EXPECT_THAT(pages.RenderQueued(Model(), ""), HasSubstr("<dd id=\"aq-pos\">42</dd>"));
}

TEST(WaitingPagesTest, DefaultConstructedServesTheBuiltInPages) {
  const WaitingPages pages;
  EXPECT_THAT(pages.RenderQueued(Model(), "es"), HasSubstr("<h1>Estás en la fila</h1>"));
  EXPECT_THAT(pages.RenderClosed(Model(), ""), HasSubstr("<h1>This page is closed</h1>"));
}

}  // namespace
}  // namespace anteroom::agent
