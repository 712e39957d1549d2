// Builds stored sessions for the player's tests through the store's own API (SessionWriter).
#ifndef PODTAPE_TESTS_PLAYER_TEST_SESSIONS_H_
#define PODTAPE_TESTS_PLAYER_TEST_SESSIONS_H_

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "schema/store.h"

namespace podtape::testing {

struct TestFrame {
  int64_t t_ms;
  store::Direction direction;
  uint8_t channel;
  std::string payload;
};

inline TestFrame Out(int64_t t_ms, std::string p) {
  return {t_ms, store::Direction::kFromServer, 1, std::move(p)};
}
inline TestFrame Err(int64_t t_ms, std::string p) {
  return {t_ms, store::Direction::kFromServer, 2, std::move(p)};
}
inline TestFrame In(int64_t t_ms, std::string p) {
  return {t_ms, store::Direction::kToServer, 0, std::move(p)};
}
inline TestFrame Resize(int64_t t_ms, std::string p) {
  return {t_ms, store::Direction::kToServer, 4, std::move(p)};
}
inline TestFrame StatusFrame(int64_t t_ms, std::string p) {
  return {t_ms, store::Direction::kFromServer, 3, std::move(p)};
}

inline store::SessionMeta SampleMeta() {
  store::SessionMeta m;
  m.kind = "exec";
  m.started_at_ns = int64_t{1795680000} * 1'000'000'000;
  m.namespace_ = "default";
  m.pod = "web-1";
  m.container = "app";
  m.command = {"/bin/sh"};
  m.tty = true;
  m.stdin_ = true;
  m.protocol = "v5.channel.k8s.io";
  m.term_cols = 80;
  m.term_rows = 24;
  m.term_type = "xterm-256color";
  m.user = "alice";
  m.user_source = "selfsubjectreview";
  return m;
}

// Records `frames` as one session; ends it with `exit_code` unless `finish` is false (then the
// session reads as interrupted). Returns its id.
inline std::string Record(store::Store& st, store::SessionMeta meta,
                          const std::vector<TestFrame>& frames, std::optional<int> exit_code,
                          bool finish = true) {
  auto w = store::SessionWriter::Start(st, std::move(meta));
  EXPECT_TRUE(w.ok()) << w.status().message();
  if (!w.ok()) return "";
  for (const TestFrame& f : frames) {
    Status s = (*w)->Append(f.t_ms * 1'000'000, f.direction, f.channel, f.payload);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  std::string id = (*w)->id();
  if (finish) {
    store::SessionEnd end;
    end.ended_at_ns = (*w)->meta().started_at_ns +
                      (frames.empty() ? 0 : frames.back().t_ms * 1'000'000) + 1'000'000;
    end.exit_code = exit_code;
    Status s = (*w)->Finish(end);
    EXPECT_TRUE(s.ok()) << s.message();
  }
  return id;
}

}  // namespace podtape::testing

#endif  // PODTAPE_TESTS_PLAYER_TEST_SESSIONS_H_
