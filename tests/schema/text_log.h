// A deterministic generator of log-like text (timestamps, levels, request paths, numbers, hex ids)
// for the store's storage-ratio tests and bench/store_bench: what `kubectl exec -- cat app.log`
// streams. Header-only, no test framework: the benchmark includes it too.
#ifndef PODTAPE_TESTS_SCHEMA_TEXT_LOG_H_
#define PODTAPE_TESTS_SCHEMA_TEXT_LOG_H_

#include <fmt/format.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace podtape::store::testing {

class TextLog {
 public:
  explicit TextLog(uint64_t seed = 42) : state_(seed) {}

  // Appends whole lines to `*out` until it holds at least `bytes` more bytes.
  void Append(size_t bytes, std::string* out) {
    const size_t goal = out->size() + bytes;
    while (out->size() < goal) Line(out);
  }

  // Exactly `size` bytes of the stream (lines continue across calls, as a pipe cuts them).
  std::string Chunk(size_t size) {
    while (carry_.size() < size) Line(&carry_);
    std::string chunk = carry_.substr(0, size);
    carry_.erase(0, size);
    return chunk;
  }

  // Exactly `size` bytes that do not compress (for the incompressible case).
  std::string RandomBytes(size_t size) {
    std::string s(size, '\0');
    for (size_t i = 0; i < size; i += 8) {
      uint64_t v = Next();
      for (size_t k = 0; k < 8 && i + k < size; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
    }
    return s;
  }

 private:
  uint64_t Next() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t Below(uint64_t n) { return Next() % n; }
  template <size_t N>
  std::string_view Pick(const std::array<std::string_view, N>& a) {
    return a[Below(N)];
  }

  void Line(std::string* out) {
    static constexpr std::array<std::string_view, 15> kLevels = {
        "INFO",  "INFO",  "INFO",  "INFO",  "INFO", "INFO", "INFO", "INFO",
        "DEBUG", "DEBUG", "DEBUG", "DEBUG", "WARN", "WARN", "ERROR"};
    static constexpr std::array<std::string_view, 10> kMethods = {
        "GET", "GET", "GET", "GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH"};
    static constexpr std::array<std::string_view, 5> kNamespaces = {"shop", "payments", "default",
                                                                    "kube-system", "search"};
    static constexpr std::array<std::string_view, 4> kApps = {"web", "api", "worker", "cache"};
    static constexpr std::array<std::string_view, 5> kUsers = {
        "alice", "bob", "carol", "system:serviceaccount:shop:api", "dave"};
    static constexpr std::array<int, 16> kCodes = {200, 200, 200, 200, 200, 200, 200, 200,
                                                   200, 200, 201, 204, 304, 404, 500, 503};
    static constexpr std::string_view kNameChars = "bcdfghjklmnpqrstvwxz2456789";
    t_us_ += 1 + Below(10000);
    const std::time_t secs = static_cast<std::time_t>(t_us_ / 1000000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::string_view ns = Pick(kNamespaces);
    std::string_view app = Pick(kApps);
    std::string path;
    switch (Below(7)) {
      case 0:
      case 1: {
        std::string pod = fmt::format("{}-{:05x}-", app, Below(1 << 20));
        for (int i = 0; i < 5; ++i) pod += kNameChars[Below(kNameChars.size())];
        path = fmt::format("/api/v1/namespaces/{}/pods/{}{}", ns, pod, Below(2) ? "/log" : "");
        break;
      }
      case 2:
        path = fmt::format("/apis/apps/v1/namespaces/{}/deployments/{}", ns, app);
        break;
      case 3:
        path = fmt::format("/api/v1/namespaces/{}/configmaps/{}-config", ns, app);
        break;
      case 4:
        path = fmt::format("/static/js/app.{:08x}.js", static_cast<uint32_t>(Next()));
        break;
      case 5:
        path = "/healthz";
        break;
      default:
        path = "/metrics";
        break;
    }
    fmt::format_to(std::back_inserter(*out),
                   "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z {:<5} [worker-{}] {} {} {} {}B "
                   "{}.{:03}ms req={:016x} user={}\n",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   t_us_ % 1000000, Pick(kLevels), Below(16), Pick(kMethods), path,
                   kCodes[Below(kCodes.size())], 100 + Below(100000), Below(60), Below(1000),
                   Next(), Pick(kUsers));
  }

  uint64_t state_;
  uint64_t t_us_ = 1764155744000000;  // 2025-11-26T11:15:44Z
  std::string carry_;
};

}  // namespace podtape::store::testing

#endif  // PODTAPE_TESTS_SCHEMA_TEXT_LOG_H_
