#include "common/page_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <string_view>

namespace anteroom::common {
namespace {

using ::testing::HasSubstr;

// Every string of a PageText, for checks that apply to all of them.
std::vector<std::string_view> Strings(const PageText& t) {
  return {t.code,
          t.name,
          t.queued_heading,
          t.queued_lead,
          t.position_label,
          t.eta_label,
          t.progress_label,
          t.auto_refresh_note,
          t.noscript_note,
          t.eta_under_a_minute,
          t.eta_one_minute,
          t.eta_minutes,
          t.eta_one_hour,
          t.eta_hours,
          t.eta_unknown,
          t.prequeue_heading,
          t.prequeue_start,
          t.prequeue_lead,
          t.admitted_heading,
          t.admitted_lead,
          t.continue_link,
          t.closed_heading,
          t.closed_lead,
          t.try_again_link};
}

TEST(PageTextTest, ShipsTheLanguagesWePromise) {
  std::set<std::string_view> codes;
  for (const PageText& text : AllPageTexts()) codes.insert(text.code);
  for (std::string_view code : {"en", "de", "fr", "it", "es"}) {
    EXPECT_TRUE(codes.count(code)) << code;
  }
  EXPECT_EQ(AllPageTexts().front().code, "en");
  EXPECT_EQ(codes.size(), AllPageTexts().size()) << "duplicate language code";
}

TEST(PageTextTest, EveryStringIsPresentAndSafeInHtml) {
  for (const PageText& text : AllPageTexts()) {
    for (std::string_view s : Strings(text)) {
      EXPECT_FALSE(s.empty()) << text.code;
      EXPECT_EQ(s.find_first_of("&<>\"'|"), std::string_view::npos)
          << text.code << ": \"" << s << "\" must be written as is into HTML";
    }
    EXPECT_THAT(std::string(text.eta_minutes), HasSubstr("{n}")) << text.code;
    EXPECT_THAT(std::string(text.eta_hours), HasSubstr("{n}")) << text.code;
    EXPECT_THAT(std::string(text.prequeue_start), HasSubstr("{time}")) << text.code;
  }
}

TEST(PageTextTest, TextForFallsBackToEnglish) {
  EXPECT_EQ(TextFor("de").queued_heading, "Sie sind in der Warteschlange");
  EXPECT_EQ(TextFor("xx").code, "en");
  EXPECT_EQ(TextFor("").code, "en");
}

struct EtaCase {
  int64_t seconds;
  std::string_view en;
  std::string_view de;
};

TEST(HumanEtaTest, RoundsHonestly) {
  const EtaCase cases[] = {
      {-1, "not known yet", "noch unbekannt"},
      {0, "less than a minute", "weniger als eine Minute"},
      {59, "less than a minute", "weniger als eine Minute"},
      {60, "about 1 minute", "etwa 1 Minute"},
      {89, "about 1 minute", "etwa 1 Minute"},
      {90, "about 2 minutes", "etwa 2 Minuten"},
      {95, "about 2 minutes", "etwa 2 Minuten"},
      {180, "about 3 minutes", "etwa 3 Minuten"},
      {3569, "about 59 minutes", "etwa 59 Minuten"},
      {3570, "about 1 hour", "etwa 1 Stunde"},
      {5369, "about 1 hour", "etwa 1 Stunde"},
      {5370, "about 2 hours", "etwa 2 Stunden"},
      {36000, "about 10 hours", "etwa 10 Stunden"},
      {std::numeric_limits<int64_t>::max(), "about 87600 hours", "etwa 87600 Stunden"},
  };
  for (const EtaCase& c : cases) {
    EXPECT_EQ(HumanEta(c.seconds, TextFor("en")), c.en) << c.seconds;
    EXPECT_EQ(HumanEta(c.seconds, TextFor("de")), c.de) << c.seconds;
  }
}

TEST(HumanEtaTest, EveryLanguageFillsInTheNumber) {
  for (const PageText& text : AllPageTexts()) {
    const std::string minutes = HumanEta(7 * 60, text);
    EXPECT_THAT(minutes, HasSubstr("7")) << text.code;
    EXPECT_EQ(minutes.find('{'), std::string::npos) << text.code;
    EXPECT_THAT(HumanEta(3 * 3600, text), HasSubstr("3")) << text.code;
  }
}

TEST(AppendFilledTest, ReplacesEveryOccurrence) {
  std::string out = ">";
  AppendFilled("{n} of {n}{", "{n}", "4", &out);
  EXPECT_EQ(out, ">4 of 4{");
}

struct PickCase {
  std::string_view header;
  std::string_view default_language;
  std::string_view expected;
};

class PickLanguageTest : public ::testing::TestWithParam<PickCase> {};

TEST_P(PickLanguageTest, Picks) {
  EXPECT_EQ(PickLanguage(GetParam().header, GetParam().default_language), GetParam().expected)
      << "Accept-Language: " << GetParam().header << " default " << GetParam().default_language;
}

INSTANTIATE_TEST_SUITE_P(
    Table, PickLanguageTest,
    ::testing::Values(
        // Plain, regions, case.
        PickCase{"de", "en", "de"}, PickCase{"de-CH", "en", "de"}, PickCase{"DE-ch", "en", "de"},
        PickCase{"pt-BR,pt;q=0.9", "en", "pt"}, PickCase{"zh-Hant-TW", "en", "en"},
        // q-values: highest wins, ties go to the earlier range.
        PickCase{"de-CH;q=0.9, en;q=0.8", "fr", "de"},
        PickCase{"en;q=0.8, de-CH;q=0.9", "fr", "de"}, PickCase{"fr;q=0.5, it;q=0.5", "en", "fr"},
        PickCase{"ja, it;q=0.1", "en", "it"}, PickCase{"ja;q=1, ko;q=0.9", "es", "es"},
        PickCase{"es;q=1.000, en;q=0.999", "de", "es"},
        PickCase{"xx, fr ; q=0.7 , de;q=0.71", "en", "de"},
        // q=0 rules a language out.
        PickCase{"de;q=0, fr;q=0.1", "de", "fr"}, PickCase{"en;q=0", "en", "en"},
        // Wildcard: the room's default, unless that is ruled out.
        PickCase{"*", "it", "it"}, PickCase{"ja, *;q=0.5", "fr", "fr"},
        PickCase{"*;q=0.9, es;q=0.8", "de", "de"}, PickCase{"*, de;q=0", "de", "en"},
        PickCase{"de;q=0.4, *", "de", "de"},
        // Nothing matches: the default, its primary language, or English.
        PickCase{"", "de", "de"}, PickCase{"ja", "de-AT", "de"}, PickCase{"", "xx", "en"},
        PickCase{"", "", "en"}, PickCase{"ja", " IT ", "it"},
        // Malformed ranges and q-values are skipped, the rest still counts.
        PickCase{"de;q=2, fr", "en", "fr"}, PickCase{"de;q=0.1234, fr;q=0.1", "en", "fr"},
        PickCase{"de;q=abc", "it", "it"}, PickCase{"de;q=, es;q=0.2", "it", "es"},
        PickCase{"de;q=1.5", "it", "it"}, PickCase{"de;q=-1", "it", "it"},
        PickCase{"d3, fr", "en", "fr"}, PickCase{"toolonglang, es", "en", "es"},
        PickCase{"de--CH, it-", "fr", "fr"}, PickCase{",,, ;;; ,de", "en", "de"},
        PickCase{"de;level=1;q=0.5, fr;q=0.4", "en", "de"}, PickCase{"\xff\xfe, es", "en", "es"},
        PickCase{"=;q=;,", "nl", "nl"}),
    [](const ::testing::TestParamInfo<PickCase>& info) {
      return "Case" + std::to_string(info.index);
    });

TEST(PickLanguageTest, ReadsOnlyTheFirst4KiB) {
  std::string header;
  while (header.size() < 5000) header += "ja;q=0.5, ";
  EXPECT_EQ(PickLanguage(header + "de", "it"), "it");
  // A range cut in half by the limit is dropped, not misread: "fr;q=0." would rule out
  // French, and the wildcard would then give English.
  header = "*" + std::string(4087, ' ') + ",fr;q=0.8";
  ASSERT_EQ(header.size(), 4097u);
  EXPECT_EQ(PickLanguage(header, "fr"), "fr");
}

TEST(PickLanguageTest, ReadsAtMost32Ranges) {
  std::string header;
  for (int i = 0; i < 32; ++i) header += "ja, ";
  EXPECT_EQ(PickLanguage(header + "de", "it"), "it");
}

TEST(PickLanguageTest, RandomBytesNeverCrashAndAlwaysGiveALanguageWeHave) {
  std::set<std::string_view> codes;
  for (const PageText& text : AllPageTexts()) codes.insert(text.code);
  std::mt19937 random(7);
  const std::string alphabet = "abcdefghijklmnopqrstuvwxyzDE-*;q=0.19, \t\xff";
  for (int i = 0; i < 20000; ++i) {
    std::string header(random() % 40, ' ');
    for (char& c : header) c = alphabet[random() % alphabet.size()];
    const std::string_view picked = PickLanguage(header, i % 2 ? "de" : "");
    ASSERT_TRUE(codes.count(picked)) << header;
  }
}

}  // namespace
}  // namespace anteroom::common
