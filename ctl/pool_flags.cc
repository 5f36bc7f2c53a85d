#include "ctl/pool_flags.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/room_validation.h"
#include "common/yaml_proto.h"
#include "ctl/field_flags.h"
#include "ctl/value_parsers.h"

namespace anteroom::ctl {
namespace {

using Setter = absl::Status (*)(absl::string_view flag, const std::string& value, v1::Pool* pool);

struct PoolFlag {
  FlagSpec spec;
  Setter set;  // Null for the list flags, which ApplyPoolFlags handles as a whole.
};

// Out-of-range counts become INT32_MAX, which validation then rejects with its range.
int32_t Clamp32(int64_t x) {
  return static_cast<int32_t>(std::min<int64_t>(x, std::numeric_limits<int32_t>::max()));
}

template <typename T, typename F>
absl::Status Assign(absl::StatusOr<T> parsed, F assign) {
  if (!parsed.ok()) return parsed.status();
  assign(*std::move(parsed));
  return absl::OkStatus();
}

const std::vector<EnumChoice<v1::MonitorType>>& MonitorTypes() {
  static const auto* kChoices =
      new std::vector<EnumChoice<v1::MonitorType>>{{"http", v1::MONITOR_TYPE_HTTP},
                                                   {"https", v1::MONITOR_TYPE_HTTPS},
                                                   {"tcp", v1::MONITOR_TYPE_TCP}};
  return *kChoices;
}

const std::vector<EnumChoice<v1::SteeringPolicy>>& SteeringPolicies() {
  static const auto* kChoices = new std::vector<EnumChoice<v1::SteeringPolicy>>{
      {"failover", v1::STEERING_POLICY_FAILOVER},
      {"weighted-random", v1::STEERING_POLICY_WEIGHTED_RANDOM},
      {"least-outstanding", v1::STEERING_POLICY_LEAST_OUTSTANDING},
      {"lowest-latency", v1::STEERING_POLICY_LOWEST_LATENCY},
  };
  return *kChoices;
}

absl::StatusOr<std::string> ParseMethod(absl::string_view flag, absl::string_view text) {
  bool ok = !text.empty();
  for (char c : text) ok = ok && absl::ascii_isalpha(static_cast<unsigned char>(c));
  if (!ok) {
    return FlagError(flag, absl::StrCat("expected an HTTP method such as GET, got '", text, "'"));
  }
  return absl::AsciiStrToUpper(text);
}

absl::StatusOr<std::string> ParseExpectedCodes(absl::string_view flag, absl::string_view text) {
  absl::Status s = common::ValidateExpectedCodes(absl::StrCat("--", flag), text);
  if (!s.ok()) return s;
  return std::string(text);
}

// "ADDR:PORT" with ADDR a name, IPv4 literal or bracketed IPv6 literal.
absl::Status ParseAddressPort(absl::string_view flag, absl::string_view text, v1::Origin* origin) {
  auto bad = [&] {
    return FlagError(flag,
                     absl::StrCat("expected ADDR:PORT[,weight=N][,disabled], got '", text, "'"));
  };
  size_t colon = text.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return bad();
  absl::string_view address = text.substr(0, colon);
  if (address.front() == '[') {
    if (address.size() < 3 || address.back() != ']') return bad();
    address = address.substr(1, address.size() - 2);
  } else if (address.find(':') != absl::string_view::npos) {
    return FlagError(
        flag, absl::StrCat("an IPv6 address needs brackets, as in [::1]:8080, got '", text, "'"));
  }
  int port = 0;
  if (!absl::SimpleAtoi(text.substr(colon + 1), &port) || port < 1 || port > 65535) {
    return FlagError(flag, absl::StrCat("expected a port 1-65535, got '", text.substr(colon + 1),
                                        "' in '", text, "'"));
  }
  origin->set_address(std::string(address));
  origin->set_port(port);
  return absl::OkStatus();
}

absl::StatusOr<v1::Origin> ParseOrigin(absl::string_view flag, absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  v1::Origin origin;
  if (absl::Status s = ParseAddressPort(flag, parts[0], &origin); !s.ok()) return s;
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view part = absl::StripAsciiWhitespace(parts[i]);
    if (part == "disabled" || part == "enabled") {
      origin.set_enabled(part == "enabled");
    } else if (absl::ConsumePrefix(&part, "weight=")) {
      int weight = 0;
      if (!absl::SimpleAtoi(part, &weight) || weight < 0) {
        return FlagError(flag, absl::StrCat("expected weight=N with N >= 0, got 'weight=", part,
                                            "' in '", text, "'"));
      }
      origin.set_weight(weight);
    } else if (absl::ConsumePrefix(&part, "name=")) {
      origin.set_name(std::string(part));
    } else {
      return FlagError(flag, absl::StrCat("unknown origin option '", part,
                                          "' (expected weight=N, name=NAME, disabled or enabled)"));
    }
  }
  return origin;
}

const std::vector<PoolFlag>& PoolFlags() {
  using P = v1::Pool;
  using S = const std::string&;
  static const auto* kFlags = new std::vector<PoolFlag>{
      {{"from-file"}, nullptr},
      {{"origin", FlagKind::kValue, true}, nullptr},
      {{"minimum-healthy"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseNonNegativeInt(f, v),
                       [p](int64_t x) { p->set_minimum_healthy(Clamp32(x)); });
       }},
      {{"monitor-type"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseEnum(f, v, MonitorTypes()),
                       [p](v1::MonitorType x) { p->mutable_monitor()->set_type(x); });
       }},
      {{"monitor-method"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseMethod(f, v),
                       [p](std::string x) { p->mutable_monitor()->set_method(std::move(x)); });
       }},
      {{"monitor-path"},
       [](absl::string_view, S v, P* p) {
         p->mutable_monitor()->set_path(v);
         return absl::OkStatus();
       }},
      {{"monitor-host"},
       [](absl::string_view, S v, P* p) {
         p->mutable_monitor()->set_host_header(v);
         return absl::OkStatus();
       }},
      {{"monitor-header", FlagKind::kValue, true}, nullptr},
      {{"expected-codes"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseExpectedCodes(f, v), [p](std::string x) {
           p->mutable_monitor()->set_expected_codes(std::move(x));
         });
       }},
      {{"expected-body"},
       [](absl::string_view, S v, P* p) {
         p->mutable_monitor()->set_expected_body(v);
         return absl::OkStatus();
       }},
      {{"interval"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseMillis(f, v),
                       [p](int64_t x) { p->mutable_monitor()->set_interval_ms(x); });
       }},
      {{"timeout"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseMillis(f, v),
                       [p](int64_t x) { p->mutable_monitor()->set_timeout_ms(x); });
       }},
      {{"consecutive-up"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseNonNegativeInt(f, v),
                       [p](int64_t x) { p->mutable_monitor()->set_consecutive_up(Clamp32(x)); });
       }},
      {{"consecutive-down"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseNonNegativeInt(f, v),
                       [p](int64_t x) { p->mutable_monitor()->set_consecutive_down(Clamp32(x)); });
       }},
      {{"jitter"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseMillis(f, v),
                       [p](int64_t x) { p->mutable_monitor()->set_jitter_ms(x); });
       }},
      {{"follow-redirects", FlagKind::kBool},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseBool(f, v),
                       [p](bool x) { p->mutable_monitor()->set_follow_redirects(x); });
       }},
      {{"allow-insecure", FlagKind::kBool},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseBool(f, v),
                       [p](bool x) { p->mutable_monitor()->set_allow_insecure(x); });
       }},
      {{"steering"},
       [](absl::string_view f, S v, P* p) {
         return Assign(ParseEnum(f, v, SteeringPolicies()),
                       [p](v1::SteeringPolicy x) { p->set_steering(x); });
       }},
  };
  return *kFlags;
}

// Replaces every setting with the YAML file's, keeping what identifies the stored pool.
absl::Status ApplyFromFile(const ParsedArgs& args, v1::Pool* pool) {
  if (!args.Has("from-file")) return absl::OkStatus();
  v1::Pool loaded;
  if (absl::Status s = common::LoadYamlFile(*args.Get("from-file"), &loaded); !s.ok()) {
    return FlagError("from-file", s.message());
  }
  if (!loaded.id().empty() && loaded.id() != pool->id()) {
    return FlagError("from-file", absl::StrCat("the file is for pool '", loaded.id(), "', not '",
                                               pool->id(), "'"));
  }
  loaded.set_id(pool->id());
  loaded.set_version(pool->version());
  *pool = std::move(loaded);
  return absl::OkStatus();
}

absl::Status ApplyOrigins(const ParsedArgs& args, v1::Pool* pool) {
  if (!args.Has("origin")) return absl::OkStatus();
  pool->clear_origins();
  for (const std::string& text : args.GetAll("origin")) {
    if (text.empty()) continue;
    absl::StatusOr<v1::Origin> origin = ParseOrigin("origin", text);
    if (!origin.ok()) return origin.status();
    *pool->add_origins() = *std::move(origin);
  }
  return absl::OkStatus();
}

absl::Status ApplyMonitorHeaders(const ParsedArgs& args, v1::Pool* pool) {
  if (!args.Has("monitor-header")) return absl::OkStatus();
  auto* headers = pool->mutable_monitor()->mutable_headers();
  headers->clear();
  for (const std::string& text : args.GetAll("monitor-header")) {
    if (text.empty()) continue;
    auto header = ParseKeyValue("monitor-header", text);
    if (!header.ok()) return header.status();
    (*headers)[header->first] = header->second;
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<FlagSpec>& PoolFlagSpecs() {
  static const auto* kSpecs = [] {
    auto* specs = new std::vector<FlagSpec>;
    for (const PoolFlag& flag : PoolFlags()) specs->push_back(flag.spec);
    return specs;
  }();
  return *kSpecs;
}

absl::Status ApplyPoolFlags(const ParsedArgs& args, v1::Pool* pool) {
  if (absl::Status s = ApplyFromFile(args, pool); !s.ok()) return s;
  for (const PoolFlag& flag : PoolFlags()) {
    if (flag.set == nullptr || !args.Has(flag.spec.name)) continue;
    if (absl::Status s = flag.set(flag.spec.name, *args.Get(flag.spec.name), pool); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = ApplyOrigins(args, pool); !s.ok()) return s;
  return ApplyMonitorHeaders(args, pool);
}

absl::Status ValidatePoolFromFlags(const v1::Pool& pool, const ParsedArgs& args) {
  return PoolErrorToFlag(common::ValidatePool(pool), args);
}

absl::Status PoolErrorToFlag(const absl::Status& status, const ParsedArgs& args) {
  if (!absl::IsInvalidArgument(status)) return status;
  static const auto* kTable = new std::vector<FieldFlags>{
      {"pool.origins", "", {"origin"}},
      {"pool.minimum_healthy", "", {"minimum-healthy", "origin"}},
      {"pool.monitor.type", "", {"monitor-type"}},
      {"pool.monitor.method", "", {"monitor-method"}},
      {"pool.monitor.path", "", {"monitor-path"}},
      {"pool.monitor.host_header", "", {"monitor-host"}},
      {"pool.monitor.headers", "", {"monitor-header"}},
      {"pool.monitor.expected_codes", "", {"expected-codes"}},
      {"pool.monitor.interval_ms", "", {"interval"}},
      {"pool.monitor.timeout_ms", "", {"timeout", "interval"}},
      {"pool.monitor.jitter_ms", "", {"jitter"}},
      {"pool.monitor.consecutive_up", "", {"consecutive-up"}},
      {"pool.monitor.consecutive_down", "", {"consecutive-down"}},
      {"pool.steering", "", {"steering"}},
      {"pool", "", {"from-file"}},
  };
  return AttributeToFlag(status, args, *kTable);
}

}  // namespace anteroom::ctl
