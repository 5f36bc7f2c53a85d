#include "agent/health/prober.h"

#include <curl/curl.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "agent/health/health_tracker.h"
#include "common/expected_codes.h"
#include "common/host_port.h"
#include "google/protobuf/util/message_differencer.h"
#include "spdlog/spdlog.h"

namespace anteroom::agent {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxBody = 64 * 1024;  // Enough for expected_body; the rest is not read.
constexpr milliseconds kMaxWait{50};    // How soon Stop and a new table are noticed.
constexpr long kMaxRedirects = 5;

// A pool's Monitor with its defaults applied, shared by the pool's origins.
struct MonitorSettings {
  v1::Monitor proto;  // As configured, to notice changes.
  v1::MonitorType type = v1::MONITOR_TYPE_HTTP;
  std::string method = "GET";
  std::string path = "/";
  std::string host_header;           // Empty: the origin's address.
  std::vector<std::string> headers;  // "Name: value" lines for curl.
  common::ExpectedCodes codes;
  std::string expected_body;
  milliseconds interval{2000};
  milliseconds timeout{1000};
  milliseconds jitter{200};
  int consecutive_up = 2;
  int consecutive_down = 3;
  bool follow_redirects = false;
  bool allow_insecure = false;
};

std::shared_ptr<const MonitorSettings> CompileMonitor(const v1::Pool& pool) {
  const v1::Monitor& m = pool.monitor();
  auto s = std::make_shared<MonitorSettings>();
  s->proto = m;
  if (m.type() == v1::MONITOR_TYPE_HTTPS || m.type() == v1::MONITOR_TYPE_TCP) s->type = m.type();
  if (!m.method().empty()) s->method = absl::AsciiStrToUpper(m.method());
  if (!m.path().empty()) s->path = m.path().front() == '/' ? m.path() : "/" + m.path();
  s->host_header = m.host_header();
  for (const auto& [name, value] : m.headers()) {
    // curl drops "Name:" and sends "Name;" as a header with an empty value.
    s->headers.push_back(value.empty() ? absl::StrCat(name, ";") : absl::StrCat(name, ": ", value));
  }
  std::sort(s->headers.begin(), s->headers.end());  // Map order is unspecified.
  if (auto codes = common::ExpectedCodes::Parse("pool.monitor.expected_codes", m.expected_codes());
      codes.ok()) {
    s->codes = *codes;
  } else {
    // Validated before it gets here; should it not be, fall back to the default.
    spdlog::warn("pool {}: {}; expecting 2xx", pool.id(), codes.status().ToString());
    s->codes = *common::ExpectedCodes::Parse("", "");
  }
  s->expected_body = m.expected_body();
  if (m.interval_ms() > 0) s->interval = milliseconds(m.interval_ms());
  if (m.timeout_ms() > 0) s->timeout = milliseconds(m.timeout_ms());
  s->jitter = m.jitter_ms() > 0 ? milliseconds(m.jitter_ms()) : s->interval / 10;
  if (m.consecutive_up() > 0) s->consecutive_up = m.consecutive_up();
  if (m.consecutive_down() > 0) s->consecutive_down = m.consecutive_down();
  s->follow_redirects = m.follow_redirects();
  s->allow_insecure = m.allow_insecure();
  return s;
}

OriginFailure Classify(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return OriginFailure::kConnect;
    case CURLE_OPERATION_TIMEDOUT:
      return OriginFailure::kTimeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return OriginFailure::kTls;
    default:
      return OriginFailure::kProtocol;
  }
}

// One probe in flight: the easy handle and what it collects.
struct Probe {
  Probe() = default;
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;
  ~Probe() {
    if (easy != nullptr) curl_easy_cleanup(easy);
    if (headers != nullptr) curl_slist_free_all(headers);
  }

  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  std::string body;
  bool body_full = false;  // kMaxBody read; the transfer was cut there on purpose.
};

size_t CollectBody(char* data, size_t size, size_t count, void* user) {
  auto* probe = static_cast<Probe*>(user);
  const size_t len = size * count;
  const size_t room = kMaxBody - probe->body.size();
  if (len > room) {
    probe->body.append(data, room);
    probe->body_full = true;
    return 0;  // Stops the transfer (CURLE_WRITE_ERROR), which Finish expects.
  }
  probe->body.append(data, len);
  return len;
}

struct OriginMetrics {
  common::Gauge* up = nullptr;
  common::Histogram* seconds = nullptr;
  common::Counter* transitions = nullptr;
  // By OriginFailure, registered on first use so that only reasons seen get a series.
  std::array<common::Counter*, 8> failures{};
};

// One probed origin.
struct Target {
  Target(std::shared_ptr<OriginState> origin, std::shared_ptr<const MonitorSettings> monitor)
      : origin(std::move(origin)),
        monitor(std::move(monitor)),
        tracker(this->monitor->consecutive_up, this->monitor->consecutive_down) {}

  std::shared_ptr<OriginState> origin;
  std::shared_ptr<const MonitorSettings> monitor;
  HealthTracker tracker;
  Clock::time_point next_due;
  std::unique_ptr<Probe> probe;  // Null between probes.
  uint64_t generation = 0;       // Of the last table that listed this origin.
  OriginMetrics metrics;
};

// The prober's state, owned by its thread.
class ProbeLoop {
 public:
  explicit ProbeLoop(common::MetricsRegistry& metrics)
      : metrics_(metrics), multi_(curl_multi_init()), random_(std::random_device{}()) {}
  ProbeLoop(const ProbeLoop&) = delete;
  ProbeLoop& operator=(const ProbeLoop&) = delete;

  ~ProbeLoop() {
    for (auto& [_, target] : targets_) Abandon(*target);
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
  }

  bool ok() const { return multi_ != nullptr; }

  // Takes `table` as the set of origins to probe, starts the probes that are due, drives the
  // transfers and waits at most kMaxWait for something to happen.
  void Step(const std::shared_ptr<const FailoverTable>& table) {
    if (table != table_) Sync(table);
    Clock::time_point now = Clock::now();
    for (auto& [_, target] : targets_) {
      if (target->probe == nullptr && target->next_due <= now) Start(*target, now);
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Target* target = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, reinterpret_cast<char**>(&target));
      if (target != nullptr) Finish(*target, msg->data.result);
    }
    now = Clock::now();
    Clock::duration wait = kMaxWait;
    for (const auto& [_, target] : targets_) {
      if (target->probe == nullptr) wait = std::min(wait, target->next_due - now);
    }
    const auto wait_ms = std::chrono::ceil<milliseconds>(std::max(wait, Clock::duration::zero()));
    curl_multi_poll(multi_, nullptr, 0, static_cast<int>(wait_ms.count()), nullptr);
  }

 private:
  // Adds the enabled origins of `table` that are new, updates the monitor of the others and
  // drops those no longer listed.
  void Sync(const std::shared_ptr<const FailoverTable>& table) {
    table_ = table;
    ++generation_;
    const Clock::time_point now = Clock::now();
    if (table != nullptr) {
      for (const auto& pool : table->pools()) {
        std::shared_ptr<const MonitorSettings> monitor;
        for (const auto& origin : pool->origins) {
          if (!origin->enabled) continue;
          if (monitor == nullptr) monitor = CompileMonitor(pool->config);
          auto& slot = targets_[origin.get()];
          if (slot == nullptr) {
            slot = NewTarget(origin, monitor, now);
          } else {
            Reconfigure(*slot, monitor, now);
          }
          slot->generation = generation_;
        }
      }
    }
    for (auto it = targets_.begin(); it != targets_.end();) {
      if (it->second->generation == generation_) {
        ++it;
        continue;
      }
      Abandon(*it->second);
      it = targets_.erase(it);
    }
  }

  std::unique_ptr<Target> NewTarget(const std::shared_ptr<OriginState>& origin,
                                    std::shared_ptr<const MonitorSettings> monitor,
                                    Clock::time_point now) {
    auto target = std::make_unique<Target>(origin, std::move(monitor));
    ResetTracker(*target);
    target->next_due = now + Jitter(*target->monitor);
    const common::MetricLabels labels = {{"pool", origin->pool_id}, {"origin", origin->key}};
    OriginMetrics& m = target->metrics;
    m.up = metrics_.RegisterGauge("anteroom_origin_up",
                                  "1 while the origin is healthy, 0 while it is down.", labels);
    m.seconds = metrics_.RegisterHistogram(
        "anteroom_origin_probe_seconds", "Duration of successful health probes.",
        {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}, labels);
    m.transitions = metrics_.RegisterCounter("anteroom_origin_transitions_total",
                                             "Origin up/down changes seen by the prober.", labels);
    m.up->Set(origin->up.load(std::memory_order_relaxed) ? 1 : 0);
    return target;
  }

  // The pool's monitor may have changed with the table.
  void Reconfigure(Target& target, std::shared_ptr<const MonitorSettings> monitor,
                   Clock::time_point now) {
    if (google::protobuf::util::MessageDifferencer::Equals(target.monitor->proto, monitor->proto)) {
      return;
    }
    const bool thresholds_changed = target.monitor->consecutive_up != monitor->consecutive_up ||
                                    target.monitor->consecutive_down != monitor->consecutive_down;
    target.monitor = std::move(monitor);
    if (thresholds_changed) ResetTracker(target);
    target.next_due = std::min(target.next_due, now + Jitter(*target.monitor));
  }

  // A fresh tracker that agrees with what the origin state says now.
  void ResetTracker(Target& target) {
    target.tracker =
        HealthTracker(target.monitor->consecutive_up, target.monitor->consecutive_down);
    if (!target.origin->up.load(std::memory_order_relaxed)) target.tracker.ForceDown();
  }

  Clock::duration Jitter(const MonitorSettings& monitor) {
    if (monitor.jitter.count() <= 0) return Clock::duration::zero();
    std::uniform_int_distribution<int64_t> dist(0, monitor.jitter.count());
    return milliseconds(dist(random_));
  }

  void Start(Target& target, Clock::time_point now) {
    const MonitorSettings& m = *target.monitor;
    const OriginState& origin = *target.origin;
    target.next_due = now + m.interval + Jitter(m);
    auto probe = std::make_unique<Probe>();
    probe->easy = curl_easy_init();
    if (probe->easy == nullptr) {
      spdlog::warn("origin {}/{}: no curl handle; probe skipped", origin.pool_id, origin.key);
      return;
    }
    CURL* easy = probe->easy;
    const bool tls = m.type == v1::MONITOR_TYPE_HTTPS;
    const std::string host = common::BracketHost(origin.upstream.host);
    if (m.type == v1::MONITOR_TYPE_TCP) {
      curl_easy_setopt(easy, CURLOPT_URL,
                       absl::StrCat("http://", host, ":", origin.upstream.port, "/").c_str());
      curl_easy_setopt(easy, CURLOPT_CONNECT_ONLY, 1L);
    } else {
      curl_easy_setopt(
          easy, CURLOPT_URL,
          absl::StrCat(tls ? "https://" : "http://", host, ":", origin.upstream.port, m.path)
              .c_str());
      if (m.method == "HEAD") {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
      } else if (m.method != "GET") {
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, m.method.c_str());
      }
      probe->headers = curl_slist_append(
          probe->headers,
          absl::StrCat("Host: ", m.host_header.empty() ? host : m.host_header).c_str());
      for (const std::string& header : m.headers) {
        probe->headers = curl_slist_append(probe->headers, header.c_str());
      }
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, probe->headers);
      curl_easy_setopt(easy, CURLOPT_USERAGENT, "anteroom-health/" ANTEROOM_VERSION);
      curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, m.follow_redirects ? 1L : 0L);
      curl_easy_setopt(easy, CURLOPT_MAXREDIRS, kMaxRedirects);
      curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &CollectBody);
      curl_easy_setopt(easy, CURLOPT_WRITEDATA, probe.get());
      if (tls && m.allow_insecure) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
      }
    }
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(m.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
    // Each probe opens its own connection, so a refusing origin is seen as such at once.
    curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, &target);
    if (curl_multi_add_handle(multi_, easy) != CURLM_OK) {
      spdlog::warn("origin {}/{}: curl refused the probe", origin.pool_id, origin.key);
      return;
    }
    target.probe = std::move(probe);
  }

  // Applies the result of the probe in flight for `target`.
  void Finish(Target& target, CURLcode code) {
    std::unique_ptr<Probe> probe = std::move(target.probe);
    curl_multi_remove_handle(multi_, probe->easy);
    const MonitorSettings& m = *target.monitor;
    OriginState& origin = *target.origin;

    OriginFailure failure = OriginFailure::kNone;
    long status = 0;
    if (m.type != v1::MONITOR_TYPE_TCP) {
      curl_easy_getinfo(probe->easy, CURLINFO_RESPONSE_CODE, &status);
    }
    if (code == CURLE_WRITE_ERROR && probe->body_full) code = CURLE_OK;
    if (code != CURLE_OK) {
      failure = Classify(code);
    } else if (m.type != v1::MONITOR_TYPE_TCP) {
      if (!m.codes.Matches(static_cast<int>(status))) {
        failure = OriginFailure::kStatus;
      } else if (!m.expected_body.empty() && m.method != "HEAD" &&
                 probe->body.find(m.expected_body) == std::string::npos) {
        failure = OriginFailure::kBody;
      }
    }

    origin.last_status.store(static_cast<int>(status), std::memory_order_relaxed);
    origin.last_failure.store(static_cast<int>(failure), std::memory_order_relaxed);
    if (failure == OriginFailure::kNone) {
      curl_off_t us = 0;
      curl_easy_getinfo(
          probe->easy,
          m.type == v1::MONITOR_TYPE_TCP ? CURLINFO_CONNECT_TIME_T : CURLINFO_TOTAL_TIME_T, &us);
      origin.probe_latency_us.store(us, std::memory_order_relaxed);
      target.metrics.seconds->Observe(static_cast<double>(us) / 1e6);
    } else {
      FailureCounter(target, failure)->Increment();
      spdlog::debug("origin {}/{}: probe failed: {}", origin.pool_id, origin.key,
                    OriginFailureText(failure, static_cast<int>(status)));
    }
    origin.probes.fetch_add(1, std::memory_order_relaxed);

    // Live traffic took the origin down (and counted that transition itself): the tracker
    // follows, so that consecutive_up good probes are needed from here.
    if (origin.passive_down.exchange(false, std::memory_order_relaxed)) {
      target.tracker.ForceDown();
    }
    if (target.tracker.Observe(failure == OriginFailure::kNone)) {
      const bool up = target.tracker.up();
      origin.up.store(up, std::memory_order_relaxed);
      origin.transitions.fetch_add(1, std::memory_order_relaxed);
      target.metrics.transitions->Increment();
      if (up) {
        spdlog::info("origin {}/{} is up", origin.pool_id, origin.key);
      } else {
        spdlog::info("origin {}/{} is down: {}", origin.pool_id, origin.key,
                     OriginFailureText(failure, static_cast<int>(status)));
      }
    }
    target.metrics.up->Set(origin.up.load(std::memory_order_relaxed) ? 1 : 0);
  }

  common::Counter* FailureCounter(Target& target, OriginFailure failure) {
    common::Counter*& counter = target.metrics.failures[static_cast<size_t>(failure)];
    if (counter == nullptr) {
      std::string reason = OriginFailureText(failure, 0);
      if (failure == OriginFailure::kStatus) reason = "status";  // Not one series per code.
      counter = metrics_.RegisterCounter(
          "anteroom_origin_probe_failures_total", "Failed health probes by reason.",
          {{"pool", target.origin->pool_id}, {"origin", target.origin->key}, {"reason", reason}});
    }
    return counter;
  }

  // Drops the probe in flight, if any, without a result.
  void Abandon(Target& target) {
    if (target.probe == nullptr) return;
    curl_multi_remove_handle(multi_, target.probe->easy);
    target.probe.reset();
  }

  common::MetricsRegistry& metrics_;
  CURLM* const multi_;
  std::mt19937_64 random_;
  std::shared_ptr<const FailoverTable> table_;
  uint64_t generation_ = 0;
  std::unordered_map<const OriginState*, std::unique_ptr<Target>> targets_;
};

}  // namespace

Prober::Prober(TableSource source, common::MetricsRegistry& metrics)
    : source_(std::move(source)), metrics_(metrics) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

Prober::~Prober() {
  Stop();
  curl_global_cleanup();
}

void Prober::Start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  thread_ = std::thread([this] { Run(); });
}

void Prober::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

void Prober::Run() {
  ProbeLoop loop(metrics_);
  if (!loop.ok()) {
    spdlog::error("health checks disabled: curl_multi_init failed");
    return;
  }
  while (!stop_.load()) {
    loop.Step(source_ ? source_() : nullptr);
  }
}

}  // namespace anteroom::agent
