#pragma once

// A test "browser": a libcurl handle with its own cookie jar, like one user's browser profile.
// Not thread-safe: one test thread per Browser.

#include <curl/curl.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace anteroom::testing {

struct Page {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // Lower-case names; the last value wins.
};

class Browser {
 public:
  Browser();
  ~Browser();
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  // GET (or POST with `body`) http://127.0.0.1:<port><path>, keeping cookies across calls.
  absl::StatusOr<Page> Get(int port, const std::string& path, const std::string& accept = "");
  absl::StatusOr<Page> Post(int port, const std::string& path, const std::string& body);
  // The Cookie header this browser would send to 127.0.0.1.
  std::string CookieHeader() const;
  // Copies another browser's cookies (a user moving between agents keeps its cookie).
  void CopyCookiesFrom(const Browser& other);

 private:
  absl::StatusOr<Page> Perform(int port, const std::string& path, const std::string& accept,
                               const std::string* body);
  CURL* curl_;
};

}  // namespace anteroom::testing
