// The session writer: batching, back-pressure, failures, and several processes on one file.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "schema/store.h"
#include "schema/store_test_util.h"
#include "schema/text_log.h"
#include "test_util.h"

namespace podtape::store {
namespace {

using namespace std::chrono_literals;
using podtape::testing::TempDir;
using testing::ForkChild;
using testing::PayloadFor;
using testing::ReadAll;
using testing::ReadByte;
using testing::SampleMeta;
using testing::WaitChild;

std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  Result<std::unique_ptr<Store>> s = Store::Open(path);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

// Polls `pred` every 10 ms for at most `limit`.
template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds limit = 20s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

TEST(SessionWriterTest, CommitsWithinTheIntervalWhileRunning) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  SessionWriter::Options opt;
  opt.commit_interval_ms = 50;
  auto w = SessionWriter::Start(db, SampleMeta(), opt);
  ASSERT_TRUE(w.ok()) << w.status().message();
  auto store = OpenOrDie(db);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE((*w)->Append(i, Direction::kFromServer, 1, "abc").ok());
  }
  // Another connection sees the frames and counters before Finish.
  EXPECT_TRUE(Eventually([&] {
    auto row = store->Find((*w)->id());
    return row.ok() && row->frames == 3 && row->bytes == 9;
  }));
  EXPECT_EQ(ReadAll(*store, (*w)->id()).seqs.size(), 3u);
  ASSERT_TRUE((*w)->Finish({}).ok());
}

TEST(SessionWriterTest, ProducerBlocksWhenTheQueueIsFullAndNothingIsDropped) {
  auto store = OpenOrDie(":memory:");
  // A first session to read while the writer is held up.
  std::string first;
  {
    auto w = SessionWriter::Start(*store, SampleMeta());
    ASSERT_TRUE(w.ok());
    first = (*w)->id();
    ASSERT_TRUE((*w)->Append(0, Direction::kFromServer, 1, "x").ok());
    ASSERT_TRUE((*w)->Finish({}).ok());
  }
  SessionWriter::Options opt;
  opt.queue_bytes = 64 << 10;
  opt.commit_interval_ms = 5;
  auto w = SessionWriter::Start(*store, SampleMeta(), opt);
  ASSERT_TRUE(w.ok());
  constexpr int kFrames = 100;
  constexpr size_t kSize = 16 << 10;
  std::atomic<int> appended{0};
  std::atomic<bool> producer_ok{true};
  int stalled_at = -1;
  std::thread producer;
  // While ReadFrames runs, the in-memory store's connection is busy: the writer cannot commit.
  Status st = store->ReadFrames(first, [&](const FrameView&) {
    producer = std::thread([&] {
      for (int i = 0; i < kFrames; ++i) {
        if (!(*w)->Append(i, Direction::kFromServer, 1, PayloadFor(i, kSize)).ok()) {
          producer_ok = false;
        }
        appended = i + 1;
      }
    });
    // The producer fills the queue (64 KiB: a few frames) and then waits.
    std::this_thread::sleep_for(300ms);
    int a = appended;
    std::this_thread::sleep_for(300ms);
    stalled_at = appended;
    EXPECT_EQ(a, stalled_at) << "the producer kept going with a full queue";
    return Status::OK();
  });
  bool finished = Eventually([&] { return appended == kFrames; });
  if (finished) {
    producer.join();
  } else {
    producer.detach();  // stuck in Append: fail rather than hang
  }
  ASSERT_TRUE(finished);
  ASSERT_TRUE(st.ok());
  EXPECT_LT(stalled_at, 10);
  EXPECT_GT(stalled_at, 0);
  EXPECT_TRUE(producer_ok);
  ASSERT_TRUE((*w)->Finish({}).ok());
  auto back = ReadAll(*store, (*w)->id());
  ASSERT_EQ(back.payloads.size(), static_cast<size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) ASSERT_EQ(back.payloads[i], PayloadFor(i, kSize)) << i;
  EXPECT_TRUE(back.chain_ok);
}

TEST(SessionWriterTest, UpdateMetaAppliesInOrderAndIsSealed) {
  auto store = OpenOrDie(":memory:");
  SessionMeta meta = SampleMeta();
  meta.user = "";
  meta.user_source = "kubeconfig";
  meta.protocol = "";
  auto w = SessionWriter::Start(*store, meta);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(0, Direction::kFromServer, 1, "").ok());
  SessionMeta learned = (*w)->meta();
  learned.protocol = "v4.channel.k8s.io";
  learned.user = "system:serviceaccount:ci:deployer";
  learned.groups = {"system:serviceaccounts"};
  learned.user_source = "selfsubjectreview";
  learned.kind = "attach";  // ignored: kind, id and start are fixed at Start
  ASSERT_TRUE((*w)->UpdateMeta(learned).ok());
  ASSERT_TRUE((*w)->Append(5, Direction::kFromServer, 1, "hi").ok());
  ASSERT_TRUE((*w)->Finish({}).ok());
  Result<SessionRow> row = store->Find((*w)->id());
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->meta.protocol, "v4.channel.k8s.io");
  EXPECT_EQ(row->meta.user, "system:serviceaccount:ci:deployer");
  EXPECT_EQ(row->meta.groups, learned.groups);
  EXPECT_EQ(row->meta.user_source, "selfsubjectreview");
  EXPECT_EQ(row->meta.kind, "exec");
  EXPECT_EQ(row->frames, 2);
  EXPECT_EQ(*row->seal, ComputeSeal(row->meta, row->end, *row->chain_head, row->frames));
}

TEST(SessionWriterTest, ErrorEndIsStoredAndCallsAfterFinishFail) {
  auto store = OpenOrDie(":memory:");
  auto w = SessionWriter::Start(*store, SampleMeta());
  ASSERT_TRUE(w.ok());
  SessionEnd end;
  end.end_reason = "error";
  end.error = "connection reset by the api server";
  ASSERT_TRUE((*w)->Finish(end).ok());
  EXPECT_FALSE((*w)->Append(0, Direction::kFromServer, 1, "late").ok());
  EXPECT_FALSE((*w)->Finish({}).ok());
  Result<SessionRow> row = store->Find("last");
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->end_reason, "error");
  EXPECT_EQ(row->end.error, "connection reset by the api server");
  EXPECT_FALSE(row->end.exit_code.has_value());
}

TEST(SessionWriterTest, StartRejectsBadInput) {
  EXPECT_EQ(SessionWriter::Start(":memory:", SampleMeta()).status().code(),
            Status::Code::kInvalidArgument);
  auto store = OpenOrDie(":memory:");
  SessionMeta no_kind = SampleMeta();
  no_kind.kind = "";
  EXPECT_EQ(SessionWriter::Start(*store, no_kind).status().code(), Status::Code::kInvalidArgument);
}

// ---- Several processes -------------------------------------------------------------------------

// Child body: records `frames` frames as a complete session; exit 0 when all went well.
int RecordInChild(const std::string& db, const std::string& pod, int frames) {
  SessionWriter::Options opt;
  opt.commit_interval_ms = 2;
  auto w = SessionWriter::Start(db, SampleMeta(pod), opt);
  if (!w.ok()) return 10;
  for (int i = 0; i < frames; ++i) {
    if (!(*w)->Append(i, Direction::kFromServer, 1, PayloadFor(i, 300)).ok()) return 11;
    if (i % 50 == 0) std::this_thread::sleep_for(1ms);  // interleave with the other process
  }
  SessionEnd end;
  end.exit_code = 0;
  return (*w)->Finish(end).ok() ? 0 : 12;
}

TEST(SessionWriterProcessTest, TwoProcessesWriteOneFileAtOnce) {
  TempDir dir;
  std::string db = dir.File("shared.db");
  { ASSERT_NE(OpenOrDie(db), nullptr); }
  constexpr int kFrames = 2000;
  pid_t a = ForkChild([&] { return RecordInChild(db, "pod-a", kFrames); });
  pid_t b = ForkChild([&] { return RecordInChild(db, "pod-b", kFrames); });
  EXPECT_EQ(WaitChild(a, 60s), 0);
  EXPECT_EQ(WaitChild(b, 60s), 0);
  auto store = OpenOrDie(db);
  auto rows = store->List({});
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  for (const SessionRow& r : *rows) {
    EXPECT_EQ(r.end_reason, "completed");
    EXPECT_EQ(r.frames, kFrames);
    auto back = ReadAll(*store, r.meta.id);
    ASSERT_EQ(back.payloads.size(), static_cast<size_t>(kFrames));
    for (int i = 0; i < kFrames; ++i) ASSERT_EQ(back.payloads[i], PayloadFor(i, 300));
    EXPECT_TRUE(back.chain_ok);
    EXPECT_EQ(*r.seal, ComputeSeal(r.meta, r.end, *r.chain_head, r.frames));
  }
}

TEST(SessionWriterProcessTest, KilledWriterLeavesAnIntactInterruptedSession) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  // The child writes frames without end, tells us once some are committed, and goes on.
  pid_t child = ForkChild([&] {
    close(pipefd[0]);
    SessionWriter::Options opt;
    opt.commit_interval_ms = 5;
    auto w = SessionWriter::Start(db, SampleMeta("victim"), opt);
    if (!w.ok()) return 10;
    auto store = Store::Open(db);
    if (!store.ok()) return 11;
    bool told = false;
    auto give_up = std::chrono::steady_clock::now() + 60s;
    for (int64_t i = 0; std::chrono::steady_clock::now() < give_up; ++i) {
      if (!(*w)->Append(i, Direction::kFromServer, 1, PayloadFor(i, 2000)).ok()) return 12;
      if (!told && i % 100 == 0) {
        auto row = (*store)->Find((*w)->id());
        if (row.ok() && row->frames >= 200) {
          if (write(pipefd[1], "r", 1) != 1) return 13;
          told = true;
        }
      }
      if (i % 20 == 0) std::this_thread::sleep_for(1ms);
    }
    return 14;
  });
  close(pipefd[1]);
  char c = 0;
  bool ready = ReadByte(pipefd[0], 60s, &c);
  close(pipefd[0]);
  ASSERT_TRUE(ready) << "the child never committed 200 frames";

  // While it runs, another process (this one) sees it as running.
  auto store = OpenOrDie(db);
  Result<SessionRow> live = store->Find("last");
  ASSERT_TRUE(live.ok());
  EXPECT_EQ(live->end_reason, "running");
  std::this_thread::sleep_for(30ms);  // let it be mid-batch
  ASSERT_EQ(kill(child, SIGKILL), 0);
  EXPECT_EQ(WaitChild(child, 30s), 128 + SIGKILL);

  store.reset();
  store = OpenOrDie(db);
  ASSERT_NE(store, nullptr);
  Result<SessionRow> row = store->Find("last");
  ASSERT_TRUE(row.ok()) << row.status().message();
  EXPECT_EQ(row->end_reason, "interrupted");
  EXPECT_FALSE(row->ended);
  EXPECT_FALSE(row->seal.has_value());
  EXPECT_GE(row->frames, 200);
  auto back = ReadAll(*store, row->meta.id);
  ASSERT_TRUE(back.status.ok()) << back.status.message();
  ASSERT_EQ(static_cast<int64_t>(back.seqs.size()), row->frames);
  for (size_t i = 0; i < back.seqs.size(); ++i) {
    ASSERT_EQ(back.seqs[i], static_cast<int64_t>(i));
    ASSERT_EQ(back.payloads[i], PayloadFor(static_cast<int64_t>(i), 2000));
  }
  EXPECT_TRUE(back.chain_ok) << back.first_bad_seq;
  EXPECT_EQ(*row->chain_head, back.head);

  // A new writer may take the dead writer's slot; the old session stays interrupted.
  auto w = SessionWriter::Start(db, SampleMeta("next"));
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(store->Find(row->meta.id)->end_reason, "interrupted");
  EXPECT_EQ(store->Find((*w)->id())->end_reason, "running");
  ASSERT_TRUE((*w)->Finish({}).ok());
}

// Child body: records 32 KiB frames under a file-size limit until the store fails.
// Exit 0: Append reported the failure (fail closed) and Finish returned it too.
int FillUntilFailure(const std::string& db, bool fail_open) {
  signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead of killing the process
  SessionWriter::Options opt;
  opt.commit_interval_ms = 5;
  auto w = SessionWriter::Start(db, SampleMeta("full"), opt);
  if (!w.ok()) return 10;
  if (fail_open) (*w)->SetFailOpen();
  rlimit lim{};
  lim.rlim_cur = lim.rlim_max = 2 << 20;
  if (setrlimit(RLIMIT_FSIZE, &lim) != 0) return 11;
  // Random bytes: stored raw (compressible ones would never reach the limit).
  const std::string payload = testing::TextLog().RandomBytes(32 << 10);
  for (int i = 0; i < 1000; ++i) {  // 32 MiB: far past the limit
    Status st = (*w)->Append(i, Direction::kFromServer, 1, payload);
    if (!st.ok()) {
      if (fail_open) return 20;  // fail open must keep accepting
      if (st.code() != Status::Code::kIOError) return 21;
      Status fin = (*w)->Finish({});
      if (fin.code() != Status::Code::kIOError) return 22;
      return 0;
    }
    if (i % 10 == 0) std::this_thread::sleep_for(2ms);
  }
  if (!fail_open) return 23;  // the limit was never hit
  (*w)->Finish({}).ok();      // the end row may not fit either; the frames must stay intact
  return 0;
}

TEST(SessionWriterProcessTest, AFailingWriteIsReportedByAppendAndFinish) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  { ASSERT_NE(OpenOrDie(db), nullptr); }
  pid_t child = ForkChild([&] { return FillUntilFailure(db, false); });
  EXPECT_EQ(WaitChild(child, 60s), 0);
  auto store = OpenOrDie(db);
  ASSERT_NE(store, nullptr);
  Result<SessionRow> row = store->Find("last");
  ASSERT_TRUE(row.ok()) << row.status().message();
  EXPECT_NE(row->end_reason, "completed");
  auto back = ReadAll(*store, row->meta.id);
  ASSERT_TRUE(back.status.ok());
  EXPECT_EQ(static_cast<int64_t>(back.seqs.size()), row->frames);
  EXPECT_TRUE(back.chain_ok);
}

TEST(SessionWriterProcessTest, FailOpenKeepsAcceptingAndKeepsTheChainIntact) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  { ASSERT_NE(OpenOrDie(db), nullptr); }
  pid_t child = ForkChild([&] { return FillUntilFailure(db, true); });
  EXPECT_EQ(WaitChild(child, 120s), 0);
  auto store = OpenOrDie(db);
  Result<SessionRow> row = store->Find("last");
  ASSERT_TRUE(row.ok());
  EXPECT_LT(row->frames, 1000);
  auto back = ReadAll(*store, row->meta.id);
  ASSERT_TRUE(back.status.ok());
  EXPECT_TRUE(back.chain_ok) << back.first_bad_seq;
  if (row->ended) {
    EXPECT_FALSE(row->end.recording_complete);
  }
}

TEST(SessionWriterProcessTest, WaitsOutAnotherProcessHoldingTheWriteLock) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  SessionWriter::Options opt;
  opt.commit_interval_ms = 5;
  auto w = SessionWriter::Start(db, SampleMeta(), opt);
  ASSERT_TRUE(w.ok()) << w.status().message();
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  // The child holds SQLite's WAL write lock (byte 120 of the -shm file, per SQLite's WAL
  // format) longer than the 5 s busy_timeout, as a long transaction of another process would.
  pid_t child = ForkChild([&] {
    close(pipefd[0]);
    int fd = open((db + "-shm").c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return 10;
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 120;
    fl.l_len = 1;
    if (fcntl(fd, F_SETLK, &fl) != 0) return 11;
    if (write(pipefd[1], "l", 1) != 1) return 12;
    std::this_thread::sleep_for(6500ms);
    return 0;
  });
  close(pipefd[1]);
  char c = 0;
  bool locked = ReadByte(pipefd[0], 30s, &c);
  close(pipefd[0]);
  ASSERT_TRUE(locked) << "the child could not take the lock";
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*w)->Append(i, Direction::kFromServer, 1, PayloadFor(i, 100)).ok());
  }
  Status st = (*w)->Finish({});
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_GE(waited, 5s) << "the lock was not held: the test proves nothing";
  EXPECT_EQ(WaitChild(child, 30s), 0);
  auto store = OpenOrDie(db);
  Result<SessionRow> row = store->Find((*w)->id());
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->end_reason, "completed");
  EXPECT_EQ(row->frames, 10);
  EXPECT_TRUE(ReadAll(*store, row->meta.id).chain_ok);
}

}  // namespace
}  // namespace podtape::store
