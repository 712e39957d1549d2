// Load through the podtape proxy (issue 7.6): 100 concurrent exec sessions of 4 MiB each, every
// recording bit-exact and none missing; a client that stops reading stalls nobody else and makes
// the proxy hold no more memory. The clients are recorder::WsSession in this process, one thread
// each (100 kubectl processes would need about 5 GB on a 2-core machine); kubectl's own matrix
// is in proxy_kubectl_test.cc.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy_fixture.h"
#include "recorder/ws_client.h"
#include "test_util.h"

namespace podtape {
namespace {

using proxytest::ProxyFixture;
using proxytest::Str;
using testing::RunResult;

long RssKiB(pid_t pid) {
  std::string status = testing::ReadFile("/proc/" + std::to_string(pid) + "/status");
  size_t at = status.find("VmRSS:");
  return at == std::string::npos ? -1 : std::stol(status.substr(at + 6));
}

// Compares stdout with `expected` as it arrives (nothing kept); `gate`, when set, is waited on
// before each message after the first (a client that stops reading).
class CheckingHandler : public recorder::WsSession::Handler {
 public:
  CheckingHandler(const std::string& expected, std::function<void()> gate = nullptr)
      : expected_(expected), gate_(std::move(gate)) {}
  Status OnMessage(bool, std::string_view data) override {
    if (data.empty()) return Status::OK();
    if (gate_ && messages_++ > 0) gate_();
    if (data[0] == 1) {
      std::string_view out = data.substr(1);
      if (offset_ + out.size() > expected_.size() ||
          expected_.compare(offset_, out.size(), out) != 0) {
        exact_ = false;
      }
      offset_ += out.size();
    } else if (data[0] == 3) {
      status_.append(data.substr(1));
    }
    return Status::OK();
  }
  Status OnInput(std::string_view, bool) override { return Status::OK(); }
  Status OnSignal(int) override { return Status::OK(); }
  bool exact() const { return exact_ && offset_ == expected_.size(); }
  size_t received() const { return offset_; }
  const std::string& status() const { return status_; }

 private:
  const std::string& expected_;
  std::function<void()> gate_;
  size_t messages_ = 0;
  size_t offset_ = 0;
  bool exact_ = true;
  std::string status_;
};

// One exec of `seq 1 N` on pod box through `url` as alice (token); the client's verdict.
struct Outcome {
  bool ok = false;
  bool exact = false;
  std::string error;
  double seconds = 0;
};
Outcome RunSeq(const ProxyFixture& f, const std::string& url, int n, const std::string& expected,
               std::function<void()> gate = nullptr) {
  Outcome o;
  auto start = std::chrono::steady_clock::now();
  recorder::Endpoint ep;
  std::string prefix;
  Status st = recorder::ParseServerUrl(url, &ep, &prefix);
  if (!st.ok()) {
    o.error = st.message();
    return o;
  }
  ep.tls_settings.ca_pem = testing::ReadFile(f.Tls("ca.crt"));
  ep.headers.emplace_back("Authorization", "Bearer alice-token");
  ep.user_agent = "podtape-load-test";
  ep.timeout = std::chrono::seconds(120);
  std::string chosen;
  auto session = recorder::WsSession::Connect(
      ep,
      "/api/v1/namespaces/default/pods/box/exec?command=seq&command=1&command=" +
          std::to_string(n) + "&stdout=true&stderr=true",
      "v5.channel.k8s.io", &chosen);
  if (!session.ok()) {
    o.error = session.status().message();
    return o;
  }
  (*session)->SetTimeouts(std::chrono::seconds(30), std::chrono::seconds(300));
  CheckingHandler h(expected, std::move(gate));
  st = (*session)->Run(h, -1, 0, {});
  o.ok = st.ok() && h.status().find("Success") != std::string::npos;
  o.exact = h.exact();
  if (!st.ok()) o.error = st.message();
  if (!o.exact) o.error += " received " + std::to_string(h.received()) + " bytes";
  o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return o;
}

TEST(ProxyLoad, HundredConcurrentSessionsOf4MiBRecordedBitExact) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  constexpr int kSessions = 100;
  constexpr int kN = 620000;  // seq 1 620000: 4,228,895 bytes
  RunResult seq = testing::Run({"seq", "1", std::to_string(kN)});
  ASSERT_EQ(seq.exit_code, 0);
  const std::string& expected = seq.out;
  ASSERT_GE(expected.size(), size_t{4} << 20);
  std::atomic<bool> running{true};
  long peak_rss = 0;
  long idle_rss = RssKiB(f.proxy().pid());
  std::thread sampler([&] {
    while (running.load()) {
      peak_rss = std::max(peak_rss, RssKiB(f.proxy().pid()));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::vector<Outcome> outcomes(kSessions);
  std::vector<std::thread> threads;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kSessions; ++i) {
    threads.emplace_back([&, i] { outcomes[i] = RunSeq(f, f.proxy().url(), kN, expected); });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  running.store(false);
  sampler.join();
  double slowest = 0;
  for (int i = 0; i < kSessions; ++i) {
    EXPECT_TRUE(outcomes[i].ok) << "session " << i << ": " << outcomes[i].error;
    EXPECT_TRUE(outcomes[i].exact) << "session " << i << ": " << outcomes[i].error;
    slowest = std::max(slowest, outcomes[i].seconds);
  }
  std::printf(
      "proxy: %d concurrent sessions x %zu bytes in %.2f s (%.1f MB/s), slowest session %.2f s; "
      "proxy RSS idle %ld KiB, peak %ld KiB (%ld KiB per session)\n",
      kSessions, expected.size(), secs, kSessions * expected.size() / secs / 1e6, slowest, idle_rss,
      peak_rss, (peak_rss - idle_rss) / kSessions);
  // Memory bounded per session: well under 16 MiB each even with sanitizers.
  EXPECT_LT(peak_rss - idle_rss, kSessions * 16L * 1024);
  boost::json::array s = f.AllEnded(kSessions, std::chrono::seconds(60));
  ASSERT_EQ(s.size(), static_cast<size_t>(kSessions));
  int exact = 0;
  for (const auto& v : s) {
    const auto& row = v.as_object();
    EXPECT_EQ(Str(row.at("end_reason")), "completed");
    RunResult cat = f.Podtape({"cat", Str(row.at("id"))});
    if (cat.out == expected) ++exact;
  }
  EXPECT_EQ(exact, kSessions);
}

TEST(ProxyLoad, AClientThatStopsReadingStallsNobodyElse) {
  ProxyFixture f;
  ASSERT_TRUE(f.ok()) << f.Why();
  constexpr int kBigN = 3000000;  // about 21 MB: far more than the socket buffers hold
  constexpr int kN = 200000;
  RunResult big = testing::Run({"seq", "1", std::to_string(kBigN)});
  RunResult small = testing::Run({"seq", "1", std::to_string(kN)});
  ASSERT_EQ(big.exit_code, 0);
  ASSERT_EQ(small.exit_code, 0);
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  bool stuck = false;
  Outcome slow;
  std::atomic<bool> slow_done{false};
  std::thread slow_client([&] {
    slow = RunSeq(f, f.proxy().url(), kBigN, big.out, [&] {
      std::unique_lock<std::mutex> lock(mu);
      stuck = true;
      cv.notify_all();
      cv.wait_for(lock, std::chrono::seconds(120), [&] { return release; });
    });
    slow_done.store(true);
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return stuck; }));
  }
  // Let the stalled session's buffers fill, then measure the proxy with it stuck.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  long rss_stuck = RssKiB(f.proxy().pid());
  constexpr int kOthers = 20;
  std::vector<Outcome> others(kOthers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOthers; ++i) {
    threads.emplace_back([&, i] { others[i] = RunSeq(f, f.proxy().url(), kN, small.out); });
  }
  for (auto& t : threads) t.join();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  long rss_later = RssKiB(f.proxy().pid());
  // The others finished while the stalled one had not.
  EXPECT_FALSE(slow_done.load());
  {
    std::lock_guard<std::mutex> lock(mu);
    release = true;
    cv.notify_all();
  }
  slow_client.join();
  for (int i = 0; i < kOthers; ++i) {
    EXPECT_TRUE(others[i].ok && others[i].exact) << "session " << i << ": " << others[i].error;
    EXPECT_LT(others[i].seconds, 60.0) << "session " << i;
  }
  // The stalled session held no growing buffer in the proxy while the others ran.
  std::printf("proxy RSS with one client not reading: %ld KiB, after 20 more sessions %ld KiB\n",
              rss_stuck, rss_later);
  EXPECT_LT(rss_later - rss_stuck, 256L * 1024);
  EXPECT_TRUE(slow.ok && slow.exact) << slow.error;
  boost::json::array s = f.AllEnded(kOthers + 1, std::chrono::seconds(60));
  ASSERT_EQ(s.size(), static_cast<size_t>(kOthers + 1));
  for (const auto& v : s) EXPECT_EQ(Str(v.as_object().at("end_reason")), "completed");
}

}  // namespace
}  // namespace podtape
