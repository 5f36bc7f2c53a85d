#include "common/page_template.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace anteroom::common {
namespace {

using ::testing::HasSubstr;
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

std::string CompileError(std::string_view html, TemplateUse use = TemplateUse::kQueuePage) {
  absl::StatusOr<PageTemplate> compiled = PageTemplate::Compile(html, use);
  if (compiled.ok()) return "compiled";
  EXPECT_EQ(compiled.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(compiled.status().message());
}

struct ErrorCase {
  std::string_view name;
  std::string html;
  std::string message;  // Exact.
};

class CompileErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(CompileErrorTest, NamesThePlaceAndTheReason) {
  EXPECT_EQ(CompileError(GetParam().html), GetParam().message);
}

const std::string kUnclosed =
    R"("{{" is not closed by "}}" on the same line (write \{{ for a literal "{{"))";

INSTANTIATE_TEST_SUITE_P(
    Cases, CompileErrorTest,
    ::testing::Values(
        ErrorCase{"Unclosed", "<p>{{position</p>", "line 1, column 4: " + kUnclosed},
        ErrorCase{"ClosedOnTheNextLine", "<p>\n  {{position\n}}</p>",
                  "line 2, column 3: " + kUnclosed},
        ErrorCase{"Empty", "{{position}}\n<p>{{}}</p>", "line 2, column 4: empty placeholder {{}}"},
        ErrorCase{"OnlyBlanks", "{{eta}} {{ \t }}", "line 1, column 9: empty placeholder {{}}"},
        ErrorCase{"TripleBraces", "<b>{{{position}}}</b>",
                  "line 1, column 4: nested braces \"{{{\": values are always HTML-escaped, so "
                  "there is no {{{raw}}} form"},
        ErrorCase{"BraceInside", "{{pos {{eta}} }}",
                  "line 1, column 7: nested braces: \"{\" inside a placeholder"},
        ErrorCase{"NotAName", "{{position}} {{ user.name }}",
                  "line 1, column 14: {{user.name}} is not a placeholder: names are letters, "
                  "digits and \"_\""},
        ErrorCase{"UnknownWithSuggestion", "<p>\n<p>{{postion}}",
                  "line 2, column 4: unknown placeholder {{postion}} (did you mean "
                  "{{position}}?); known placeholders: {{position}} {{eta}} {{eta_seconds}} "
                  "{{room}} {{title}} {{refresh_seconds}} {{progress_percent}} {{status_url}} "
                  "{{lang}} {{status}} {{event_start}} {{event_start_unix}}"},
        ErrorCase{"UnknownPrefixSuggestion", "{{eta}}{{progress}}",
                  "line 1, column 8: unknown placeholder {{progress}} (did you mean "
                  "{{progress_percent}}?); known placeholders: {{position}} {{eta}} "
                  "{{eta_seconds}} {{room}} {{title}} {{refresh_seconds}} {{progress_percent}} "
                  "{{status_url}} {{lang}} {{status}} {{event_start}} {{event_start_unix}}"},
        ErrorCase{"ColumnsCountCharactersNotBytes", "{{eta}}\nÄé→{{nope_nope_nope}}",
                  "line 2, column 4: unknown placeholder {{nope_nope_nope}}; known "
                  "placeholders: {{position}} {{eta}} {{eta_seconds}} {{room}} {{title}} "
                  "{{refresh_seconds}} {{progress_percent}} {{status_url}} {{lang}} {{status}} "
                  "{{event_start}} {{event_start_unix}}"},
        ErrorCase{"InvalidByte", "{{eta}}\nab\xff",
                  "line 2, column 3: not valid UTF-8 (byte 0xFF)"},
        ErrorCase{"Overlong", "\xc0\xaf{{eta}}", "line 1, column 1: not valid UTF-8 (byte 0xC0)"},
        ErrorCase{"Surrogate", "é\xed\xa0\x80{{eta}}",
                  "line 1, column 2: not valid UTF-8 (byte 0xED)"},
        ErrorCase{"Truncated", "{{eta}}\xe2\x82", "line 1, column 8: not valid UTF-8 (byte 0xE2)"},
        ErrorCase{"Nul", std::string("{{eta}}\n\0", 9), "line 2, column 1: NUL character"},
        ErrorCase{"NeitherPositionNorEta", "<h1>{{title}}</h1><p>{{progress_percent}}%</p>",
                  "a waiting page must show users where they stand: use {{position}}, {{eta}} "
                  "or {{eta_seconds}}"},
        ErrorCase{"NoPlaceholdersAtAll", "<h1>Please wait</h1>",
                  "a waiting page must show users where they stand: use {{position}}, {{eta}} "
                  "or {{eta_seconds}}"}),
    [](const ::testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

TEST(PageTemplateTest, RejectsTemplatesOverTheLimit) {
  std::string html = "{{position}}" + std::string(PageTemplate::kMaxBytes, 'x');
  EXPECT_EQ(CompileError(html),
            "template is " + std::to_string(html.size()) + " bytes; the limit is 262144 (256 KiB)");
  html.resize(PageTemplate::kMaxBytes);
  EXPECT_TRUE(PageTemplate::Compile(html).ok());
}

TEST(PageTemplateTest, ClosedPageNeedsNoPlaceholder) {
  EXPECT_TRUE(PageTemplate::Compile("<h1>Closed</h1>", TemplateUse::kClosedPage).ok());
  // The syntax rules still apply.
  EXPECT_EQ(CompileError("<h1>{{room</h1>", TemplateUse::kClosedPage),
            "line 1, column 5: " + kUnclosed);
}

TEST(PageTemplateTest, EachOfPositionAndEtaIsEnough) {
  for (std::string_view html : {"{{position}}", "{{eta}}", "{{eta_seconds}}"}) {
    EXPECT_TRUE(PageTemplate::Compile(html).ok()) << html;
  }
}

TEST(PageTemplateTest, RendersEveryPlaceholder) {
  absl::StatusOr<PageTemplate> page = PageTemplate::Compile(
      "{{position}}|{{eta}}|{{eta_seconds}}|{{room}}|{{title}}|{{refresh_seconds}}|"
      "{{progress_percent}}|{{status_url}}|{{lang}}|{{status}}|{{event_start}}|"
      "{{event_start_unix}}");
  ASSERT_TRUE(page.ok()) << page.status();
  PageModel model = Model();
  model.event_start_unix = 1748772000;  // 2025-06-01 10:00:00 UTC
  EXPECT_EQ(page->Render(model, "en"),
            "42|about 5 minutes|300|shop|Big Sale|20|38|/__anteroom/status?room=shop|en|queued|"
            "2025-06-01 10:00 UTC|1748772000");
}

TEST(PageTemplateTest, RendersUnknownAndEdgeValues) {
  absl::StatusOr<PageTemplate> page = PageTemplate::Compile(
      "{{position}}|{{eta}}|{{eta_seconds}}|{{title}}|{{refresh_seconds}}|{{progress_percent}}|"
      "{{event_start}}|{{event_start_unix}}");
  ASSERT_TRUE(page.ok()) << page.status();
  PageModel model = Model();
  model.position = 0;
  model.eta_seconds = -5;
  model.title.clear();
  model.refresh_after_seconds = 0;
  model.progress = 1.0;  // Still queued: the bar never shows 100%.
  EXPECT_EQ(page->Render(model, "en"), "—|not known yet|-1|shop|1|99||0");
}

TEST(PageTemplateTest, EscapesEveryValueFromConfiguration) {
  absl::StatusOr<PageTemplate> page =
      PageTemplate::Compile("<title>{{title}}</title><a href=\"{{status_url}}\">{{eta}}</a>");
  ASSERT_TRUE(page.ok()) << page.status();
  PageModel model = Model();
  model.title = "<script>alert('x')</script> & \"more\"";
  model.status_url = "/s?a=1&b=\"><img src=x>";
  const std::string html = page->Render(model, "en");
  EXPECT_EQ(html,
            "<title>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;more&quot;</title>"
            "<a href=\"/s?a=1&amp;b=&quot;&gt;&lt;img src=x&gt;\">about 5 minutes</a>");
}

TEST(PageTemplateTest, TitleArgumentReplacesTheModels) {
  absl::StatusOr<PageTemplate> page = PageTemplate::Compile("{{title}} {{eta}}");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->Render(Model(), "en", "A&B"), "A&amp;B about 5 minutes");
}

TEST(PageTemplateTest, RendersTheEstimateInThePageLanguage) {
  absl::StatusOr<PageTemplate> page = PageTemplate::Compile("<html lang=\"{{lang}}\">{{eta}}");
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->Render(Model(), "de"), "<html lang=\"de\">etwa 5 Minuten");
  EXPECT_EQ(page->Render(Model(), "fr"), "<html lang=\"fr\">environ 5 minutes");
  // Unknown languages fall back to English, and {{lang}} says so.
  EXPECT_EQ(page->Render(Model(), "tlh"), "<html lang=\"en\">about 5 minutes");
}

TEST(PageTemplateTest, LiteralBracesAndBlanks) {
  absl::StatusOr<PageTemplate> page = PageTemplate::Compile(
      "<style>@media(x){a{b:c}}</style>\\{{position}} is {{ position }}; {{\tposition\t}}}");
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_EQ(page->Render(Model(), "en"), "<style>@media(x){a{b:c}}</style>{{position}} is 42; 42}");
}

TEST(PageTemplateTest, PlainTextRendersUnchanged) {
  const std::string html = "<p>Ünïcödé → text, no placeholders</p>";
  absl::StatusOr<PageTemplate> page = PageTemplate::Compile(html, TemplateUse::kClosedPage);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->Render(Model(), "en"), html);
  absl::StatusOr<PageTemplate> empty = PageTemplate::Compile("", TemplateUse::kClosedPage);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->Render(Model(), "en"), "");
}

TEST(PageTemplateTest, ReportsWhichPlaceholdersItUses) {
  absl::StatusOr<PageTemplate> page = PageTemplate::Compile("{{eta}} {{room}} \\{{position}}");
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->Uses("eta"));
  EXPECT_TRUE(page->Uses("room"));
  EXPECT_FALSE(page->Uses("position"));  // Escaped.
  EXPECT_FALSE(page->Uses("bogus"));
}

TEST(PageTemplateTest, AHugeTemplateRendersInFull) {
  std::string html;
  for (int i = 0; i < 2000; ++i) html += "<li>{{position}} {{title}}</li>\n";
  absl::StatusOr<PageTemplate> page = PageTemplate::Compile(html);
  ASSERT_TRUE(page.ok());
  const std::string out = page->Render(Model(), "en");
  EXPECT_EQ(out.size(), 2000 * std::string("<li>42 Big Sale</li>\n").size());
  EXPECT_THAT(out, StartsWith("<li>42 Big Sale</li>\n<li>42"));
}

TEST(HtmlEscapeTest, EscapesTheFiveSpecialCharacters) {
  std::string out = "x";
  AppendHtmlEscaped("a<b>&\"c'd\" é", &out);
  EXPECT_EQ(out, "xa&lt;b&gt;&amp;&quot;c&#39;d&quot; é");
}

TEST(UtcTest, FormatsReadableAndIsoTimes) {
  std::string readable;
  AppendReadableUtc(1748772000, &readable);
  EXPECT_EQ(readable, "2025-06-01 10:00 UTC");
  std::string iso;
  AppendIsoUtc(1748772005, &iso);
  EXPECT_EQ(iso, "2025-06-01T10:00:05Z");
  std::string far;
  AppendIsoUtc(int64_t{1} << 60, &far);  // Clamped, never garbage.
  EXPECT_EQ(far, "9999-12-31T23:59:59Z");
}

TEST(ProgressPercentTest, RoundsAndClamps) {
  PageModel model = Model();
  model.progress = 0.004;
  EXPECT_EQ(ProgressPercent(model), 0);
  model.progress = 0.125;
  EXPECT_EQ(ProgressPercent(model), 13);
  model.progress = -3;
  EXPECT_EQ(ProgressPercent(model), 0);
  model.progress = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(ProgressPercent(model), 0);
  model.progress = 7;
  EXPECT_EQ(ProgressPercent(model), 99);
  model.status = "admitted";
  EXPECT_EQ(ProgressPercent(model), 100);
}

}  // namespace
}  // namespace anteroom::common
