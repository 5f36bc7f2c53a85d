#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace anteroom::common {
namespace {

constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
    {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},   {"error", spdlog::level::err},   {"off", spdlog::level::off},
};

}  // namespace

absl::Status InitLogging(std::string_view level, std::string_view component) {
  std::string wanted = absl::AsciiStrToLower(absl::string_view(level.data(), level.size()));
  if (wanted.empty()) wanted = "info";
  const spdlog::level::level_enum* found = nullptr;
  for (const auto& [name, value] : kLevels) {
    if (name == wanted) found = &value;
  }
  if (found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--log-level: unknown level '", absl::string_view(level.data(), level.size()),
                     "'; accepted: trace, debug, info, warn, error, off"));
  }
  // Not registered by name, so calling this again (tests, a reload) cannot clash with an
  // existing logger; set_default_logger keeps it alive.
  auto logger = std::make_shared<spdlog::logger>(std::string(component),
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %n: %v");
  logger->set_level(*found);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  return absl::OkStatus();
}

}  // namespace anteroom::common
