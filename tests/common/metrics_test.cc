#include "common/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

namespace anteroom::common {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersExactTextExposition) {
  MetricsRegistry registry;
  registry.RegisterCounter("anteroom_commits_total", "Group commits.", {{"durability", "sync"}})
      ->Increment(3);
  registry.RegisterCounter("anteroom_commits_total", "Group commits.", {{"durability", "async"}});
  registry.RegisterGauge("anteroom_rooms", "Rooms loaded.")->Set(2.5);
  Histogram* latency =
      registry.RegisterHistogram("anteroom_commit_seconds", "Commit latency.", {0.25, 1, 2});
  latency->Observe(0.25);  // Bounds are inclusive.
  latency->Observe(0.5);
  latency->Observe(4);
  registry.RegisterCallbackGauge("anteroom_queue_length", "Users waiting.", [] { return 42.0; },
                                 {{"room", "shop"}});

  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP anteroom_commit_seconds Commit latency.\n"
            "# TYPE anteroom_commit_seconds histogram\n"
            "anteroom_commit_seconds_bucket{le=\"0.25\"} 1\n"
            "anteroom_commit_seconds_bucket{le=\"1\"} 2\n"
            "anteroom_commit_seconds_bucket{le=\"2\"} 2\n"
            "anteroom_commit_seconds_bucket{le=\"+Inf\"} 3\n"
            "anteroom_commit_seconds_sum 4.75\n"
            "anteroom_commit_seconds_count 3\n"
            "# HELP anteroom_commits_total Group commits.\n"
            "# TYPE anteroom_commits_total counter\n"
            "anteroom_commits_total{durability=\"sync\"} 3\n"
            "anteroom_commits_total{durability=\"async\"} 0\n"
            "# HELP anteroom_queue_length Users waiting.\n"
            "# TYPE anteroom_queue_length gauge\n"
            "anteroom_queue_length{room=\"shop\"} 42\n"
            "# HELP anteroom_rooms Rooms loaded.\n"
            "# TYPE anteroom_rooms gauge\n"
            "anteroom_rooms 2.5\n");
}

TEST(MetricsTest, EmptyRegistryRendersNothing) {
  MetricsRegistry registry;
  EXPECT_EQ(registry.RenderPrometheusText(), "");
}

TEST(MetricsTest, SameNameAndLabelsReturnSameObject) {
  MetricsRegistry registry;
  Counter* a = registry.RegisterCounter("x_total", "X.", {{"a", "1"}, {"b", "2"}});
  Counter* b =
      registry.RegisterCounter("x_total", "Other help is ignored.", {{"b", "2"}, {"a", "1"}});
  Counter* c = registry.RegisterCounter("x_total", "X.", {{"a", "1"}, {"b", "3"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(registry.RegisterGauge("g", "G."), registry.RegisterGauge("g", "G."));
  Histogram* h = registry.RegisterHistogram("h", "H.", {1, 2});
  EXPECT_EQ(registry.RegisterHistogram("h", "H.", {1, 2}), h);
  a->Increment();
  EXPECT_THAT(registry.RenderPrometheusText(),
              HasSubstr("# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\",b=\"2\"} 1\n"
                        "x_total{a=\"1\",b=\"3\"} 0\n"));
}

TEST(MetricsTest, RemovedSeriesIsNotShownAndStartsAgainFromZero) {
  MetricsRegistry registry;
  Counter* shop = registry.RegisterCounter("admissions_total", "A.", {{"room", "shop"}});
  registry.RegisterCounter("admissions_total", "A.", {{"room", "tickets"}})->Increment(2);
  registry.RegisterGauge("waiting", "W.", {{"room", "shop"}})->Set(7);
  shop->Increment(5);
  registry.RemoveSeries("admissions_total", {{"room", "shop"}});
  registry.RemoveSeries("waiting", {{"room", "shop"}});
  registry.RemoveSeries("waiting", {{"room", "absent"}});  // No such series: nothing happens.
  registry.RemoveSeries("absent", {});
  shop->Increment();  // Still valid, no longer shown.
  std::string text = registry.RenderPrometheusText();
  EXPECT_THAT(text, Not(HasSubstr("room=\"shop\"")));
  EXPECT_THAT(text, Not(HasSubstr("waiting")));  // No family left without series.
  EXPECT_THAT(text, HasSubstr("admissions_total{room=\"tickets\"} 2\n"));

  Counter* again = registry.RegisterCounter("admissions_total", "A.", {{"room", "shop"}});
  EXPECT_NE(again, shop);
  EXPECT_EQ(again->Value(), 0u);
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("admissions_total{room=\"shop\"} 0\n"));
}

TEST(MetricsTest, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  registry.RegisterGauge("g", "Line one\nback\\slash", {{"path", "a\"b\\c\nd"}})->Set(1);
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP g Line one\\nback\\\\slash\n"
            "# TYPE g gauge\n"
            "g{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST(MetricsTest, GaugeArithmeticAndSpecialValues) {
  MetricsRegistry registry;
  Gauge* gauge = registry.RegisterGauge("g", "G.");
  gauge->Set(10);
  gauge->Add(2.5);
  gauge->Sub(0.5);
  EXPECT_EQ(gauge->Value(), 12);
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\ng 12\n"));
  gauge->Set(INFINITY);
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\ng +Inf\n"));
  gauge->Set(-INFINITY);
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\ng -Inf\n"));
  gauge->Set(NAN);
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\ng NaN\n"));
  gauge->Set(1e-7);
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\ng 1e-07\n"));
}

TEST(MetricsTest, CallbackGaugeIsReadAtRenderTimeAndCanBeReplaced) {
  MetricsRegistry registry;
  std::atomic<int> connections{1};
  registry.RegisterCallbackGauge("open_connections", "Open.", [&] { return connections.load(); });
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\nopen_connections 1\n"));
  connections = 7;
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\nopen_connections 7\n"));
  registry.RegisterCallbackGauge("open_connections", "Open.", [] { return -1.0; });
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\nopen_connections -1\n"));
}

TEST(MetricsTest, CallbackMayUseTheRegistry) {
  // Rendering does not hold the registry's lock while callbacks run.
  MetricsRegistry registry;
  registry.RegisterCallbackGauge("reentrant", "R.", [&registry] {
    return static_cast<double>(registry.RegisterCounter("inner_total", "I.")->Value());
  });
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("\nreentrant 0\n"));
}

TEST(MetricsTest, HistogramCountsIntoTheFirstBucketAtOrAboveTheValue) {
  Histogram histogram({1, 5, 10});
  for (double v : {0.0, 1.0, 1.5, 5.0, 9.99, 10.0, 10.01, -3.0}) histogram.Observe(v);
  EXPECT_THAT(histogram.BucketCounts(), ::testing::ElementsAre(3, 2, 2, 1));
  EXPECT_EQ(histogram.Count(), 8u);
  EXPECT_DOUBLE_EQ(histogram.Sum(), 34.5);
}

TEST(MetricsTest, ConcurrentUpdatesFromManyThreadsAreAllCounted) {
  MetricsRegistry registry;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50'000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&registry] {
      // Registration races too: every thread must get the same objects.
      Counter* counter = registry.RegisterCounter("requests_total", "Requests.");
      Gauge* gauge = registry.RegisterGauge("in_flight", "In flight.");
      Histogram* histogram = registry.RegisterHistogram("latency_seconds", "Latency.", {0.5});
      for (int i = 0; i < kPerThread; ++i) {
        counter->Increment();
        gauge->Add(1);
        histogram->Observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 10'000 == 0) registry.RenderPrometheusText();  // Renders race with updates.
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  constexpr uint64_t kTotal = uint64_t{kThreads} * kPerThread;
  EXPECT_EQ(registry.RegisterCounter("requests_total", "Requests.")->Value(), kTotal);
  EXPECT_EQ(registry.RegisterGauge("in_flight", "In flight.")->Value(), kTotal);
  Histogram* histogram = registry.RegisterHistogram("latency_seconds", "Latency.", {0.5});
  EXPECT_EQ(histogram->Count(), kTotal);
  EXPECT_DOUBLE_EQ(histogram->Sum(), kTotal / 2 * 1.25);
  EXPECT_THAT(registry.RenderPrometheusText(), HasSubstr("requests_total 400000\n"));
  EXPECT_THAT(registry.RenderPrometheusText(),
              HasSubstr("latency_seconds_bucket{le=\"0.5\"} 200000\n"
                        "latency_seconds_bucket{le=\"+Inf\"} 400000\n"
                        "latency_seconds_sum 250000\n"
                        "latency_seconds_count 400000\n"));
}

TEST(MetricsTest, BuildInfoNamesComponentAndVersion) {
  MetricsRegistry registry;
  RegisterBuildInfo(registry, "coordinator");
  EXPECT_EQ(registry.RenderPrometheusText(),
            "# HELP anteroom_build_info Build information; the value is always 1.\n"
            "# TYPE anteroom_build_info gauge\n"
            "anteroom_build_info{component=\"coordinator\",version=\"" ANTEROOM_VERSION "\"} 1\n");
}

TEST(MetricsDeathTest, MisuseAbortsWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  MetricsRegistry registry;
  registry.RegisterCounter("x_total", "X.");
  EXPECT_DEATH(registry.RegisterGauge("x_total", "X."),
               "x_total registered again with another type");
  EXPECT_DEATH(registry.RegisterCounter("bad-name", "X."), "invalid metric name 'bad-name'");
  EXPECT_DEATH(registry.RegisterCounter("y", "Y.", {{"1a", "v"}}), "invalid label name '1a'");
  EXPECT_DEATH(registry.RegisterCounter("y", "Y.", {{"__a", "v"}}), "invalid label name '__a'");
  EXPECT_DEATH(registry.RegisterCounter("y", "Y.", {{"a", "1"}, {"a", "2"}}),
               "label 'a' given twice");
  EXPECT_DEATH(registry.RegisterHistogram("h", "H.", {1}, {{"le", "1"}}), "label 'le' is reserved");
  EXPECT_DEATH(registry.RegisterHistogram("h", "H.", {2, 1}), "must be finite and increasing");
  registry.RegisterHistogram("h2", "H.", {1, 2});
  EXPECT_DEATH(registry.RegisterHistogram("h2", "H.", {1, 3}), "other bucket bounds");
  registry.RegisterGauge("g", "G.");
  EXPECT_DEATH(registry.RegisterCallbackGauge("g", "G.", [] { return 1.0; }),
               "as a gauge and as a callback gauge");
}

}  // namespace
}  // namespace anteroom::common
