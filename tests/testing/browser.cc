#include "tests/testing/browser.h"

#include <algorithm>
#include <cctype>

namespace anteroom::testing {
namespace {

size_t WriteBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

}  // namespace

Browser::Browser() : curl_(curl_easy_init()) {
  curl_easy_setopt(curl_, CURLOPT_COOKIEFILE, "");  // In-memory cookie engine.
  curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
}

Browser::~Browser() { curl_easy_cleanup(curl_); }

absl::StatusOr<Page> Browser::Perform(int port, const std::string& path, const std::string& accept,
                                      const std::string* body) {
  Page page;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &page.body);
  curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &page.headers);
  curl_slist* headers = nullptr;
  if (!accept.empty()) headers = curl_slist_append(headers, ("Accept: " + accept).c_str());
  curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
  if (body) {
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  } else {
    curl_easy_setopt(curl_, CURLOPT_HTTPGET, 1L);
  }
  CURLcode rc = curl_easy_perform(curl_);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) return absl::UnavailableError(curl_easy_strerror(rc));
  curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &page.status);
  return page;
}

absl::StatusOr<Page> Browser::Get(int port, const std::string& path, const std::string& accept) {
  return Perform(port, path, accept, nullptr);
}

absl::StatusOr<Page> Browser::Post(int port, const std::string& path, const std::string& body) {
  return Perform(port, path, "", &body);
}

std::string Browser::CookieHeader() const {
  curl_slist* cookies = nullptr;
  curl_easy_getinfo(curl_, CURLINFO_COOKIELIST, &cookies);
  std::string out;
  for (curl_slist* c = cookies; c; c = c->next) {
    // Netscape format: domain, flag, path, secure, expiry, name, value (tab-separated).
    std::string line = c->data;
    std::vector<std::string> f;
    size_t start = 0;
    for (size_t tab; (tab = line.find('\t', start)) != std::string::npos; start = tab + 1) {
      f.push_back(line.substr(start, tab - start));
    }
    f.push_back(line.substr(start));
    if (f.size() >= 7) out += (out.empty() ? "" : "; ") + f[5] + "=" + f[6];
  }
  curl_slist_free_all(cookies);
  return out;
}

void Browser::CopyCookiesFrom(const Browser& other) {
  curl_slist* cookies = nullptr;
  curl_easy_getinfo(other.curl_, CURLINFO_COOKIELIST, &cookies);
  for (curl_slist* c = cookies; c; c = c->next) {
    curl_easy_setopt(curl_, CURLOPT_COOKIELIST, c->data);
  }
  curl_slist_free_all(cookies);
}

}  // namespace anteroom::testing
