// The store's read side, ids, the hash chain and the seal, on ":memory:" and on files.
#include "schema/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>

#include "schema/store_test_util.h"
#include "test_util.h"

namespace podtape::store {
namespace {

using podtape::testing::TempDir;
using testing::PayloadFor;
using testing::ReadAll;
using testing::SampleMeta;

std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  Result<std::unique_ptr<Store>> s = Store::Open(path);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

// Records a finished session with `n` stdout frames into `store`; returns its id.
std::string Record(Store& store, SessionMeta meta, int n, SessionEnd end = {}) {
  auto w = SessionWriter::Start(store, std::move(meta));
  EXPECT_TRUE(w.ok()) << w.status().message();
  if (!w.ok()) return "";
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE((*w)->Append(i * 1000, Direction::kFromServer, 1, PayloadFor(i, 10)).ok());
  }
  std::string id = (*w)->id();
  EXPECT_TRUE((*w)->Finish(end).ok());
  return id;
}

int Mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

TEST(StoreIdTest, UuidV7HasVersionVariantAndTimeOrder) {
  std::regex form("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> seen;
  std::string previous;
  int64_t t = 1764000000123456789;  // 2025-11-24, ns
  for (int i = 0; i < 1000; ++i) {
    Result<std::string> id = NewUuidV7(t + i * 300000);  // 0.3 ms apart
    ASSERT_TRUE(id.ok());
    EXPECT_TRUE(std::regex_match(*id, form)) << *id;
    EXPECT_GT(*id, previous);  // text order is time order
    previous = *id;
    seen.insert(*id);
  }
  EXPECT_EQ(seen.size(), 1000u);
  // The first 48 bits are the Unix milliseconds.
  Result<std::string> id = NewUuidV7(1764000000123456789);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->substr(0, 8) + id->substr(9, 4), fmt::format("{:012x}", 1764000000123LL));
  EXPECT_EQ(IdTail(*id), id->substr(24));
}

TEST(StoreChainTest, ChainStartIsSha256OfTheId) {
  EXPECT_EQ(HashHex(ChainStart("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(StoreChainTest, ChainNextHashesTheDocumentedBytes) {
  Hash prev = ChainStart("session");
  std::string bytes(reinterpret_cast<const char*>(prev.data()), 32);
  // seq 5, t_ns 0x0102, direction 1, channel 2, length 3, "abc" (big-endian integers).
  bytes += std::string("\0\0\0\0\0\0\0\x05", 8);
  bytes += std::string("\0\0\0\0\0\0\x01\x02", 8);
  bytes += std::string("\x01\x02", 2);
  bytes += std::string("\0\0\0\0\0\0\0\x03", 8);
  bytes += "abc";
  EXPECT_EQ(ChainNext(prev, 5, 0x0102, Direction::kFromServer, 2, "abc"), ChainStart(bytes));
  EXPECT_NE(ChainNext(prev, 5, 0x0102, Direction::kToServer, 2, "abc"), ChainStart(bytes));
}

TEST(StoreChainTest, SealInputIsLengthPrefixedAndUnambiguous) {
  SessionMeta m = SampleMeta();
  m.id = "0190f0e0-0000-7000-8000-000000000001";
  SessionEnd e;
  e.ended_at_ns = 5;
  e.exit_code = 3;
  Hash head = ChainStart("x");
  std::string input = SealInput(m, e, head, 7);
  EXPECT_EQ(input.substr(0, 19), std::string("\0\0\0\x0fpodtape-seal-v1", 19));
  EXPECT_EQ(input.substr(19, 4), std::string("\0\0\0\x20", 4));
  Hash seal = ComputeSeal(m, e, head, 7);
  EXPECT_EQ(seal, ChainStart(input));
  // Moving a space between argv elements, or a byte between fields, changes the seal.
  SessionMeta joined = m;
  joined.command = {"sh -c", "echo hi; exit 3"};
  EXPECT_NE(ComputeSeal(joined, e, head, 7), seal);
  SessionMeta shifted = m;
  shifted.namespace_ = "defaultw";
  shifted.pod = "eb-0";
  EXPECT_NE(ComputeSeal(shifted, e, head, 7), seal);
  SessionEnd no_exit = e;
  no_exit.exit_code.reset();
  EXPECT_NE(ComputeSeal(m, no_exit, head, 7), seal);
  EXPECT_NE(ComputeSeal(m, e, head, 6), seal);
}

TEST(StoreTest, RoundTripsMetadataEndAndFramesInMemory) {
  auto store = OpenOrDie(":memory:");
  ASSERT_NE(store, nullptr);
  SessionMeta meta = SampleMeta();
  auto w = SessionWriter::Start(*store, meta);
  ASSERT_TRUE(w.ok()) << w.status().message();
  std::string id = (*w)->id();
  EXPECT_EQ(id.size(), 36u);
  EXPECT_GT((*w)->meta().started_at_ns, 0);
  ASSERT_TRUE((*w)->Append(0, Direction::kFromServer, 1, "").ok());  // the ready frame
  ASSERT_TRUE((*w)->Append(10, Direction::kToServer, 4, R"({"Width":80,"Height":24})").ok());
  ASSERT_TRUE((*w)->Append(20, Direction::kToServer, 0, "ls\n").ok());
  ASSERT_TRUE((*w)->Append(30, Direction::kFromServer, 1, std::string("a\0b", 3)).ok());
  ASSERT_TRUE((*w)->Append(40, Direction::kFromServer, 2, "err").ok());
  ASSERT_TRUE((*w)->Append(50, Direction::kFromServer, 3, "{\"status\":\"Success\"}").ok());
  ASSERT_TRUE((*w)->Append(60, Direction::kToServer, 255, std::string("\0", 1)).ok());
  SessionEnd end;
  end.ended_at_ns = (*w)->meta().started_at_ns + 1000;
  end.exit_code = 3;
  end.raw_status = "{\"status\":\"Failure\"}";
  end.close_code = 1000;
  end.close_reason = "bye";
  ASSERT_TRUE((*w)->Finish(end).ok());

  Result<SessionRow> row = store->Find(id);
  ASSERT_TRUE(row.ok()) << row.status().message();
  SessionMeta want = meta;
  want.id = id;
  want.started_at_ns = (*w)->meta().started_at_ns;
  const SessionMeta& got = row->meta;
  EXPECT_EQ(got.id, want.id);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.started_at_ns, want.started_at_ns);
  EXPECT_EQ(got.server, want.server);
  EXPECT_EQ(got.cluster, want.cluster);
  EXPECT_EQ(got.context, want.context);
  EXPECT_EQ(got.namespace_, want.namespace_);
  EXPECT_EQ(got.pod, want.pod);
  EXPECT_EQ(got.container, want.container);
  EXPECT_EQ(got.command, want.command);
  EXPECT_EQ(got.tty, want.tty);
  EXPECT_EQ(got.stdin_, want.stdin_);
  EXPECT_EQ(got.protocol, want.protocol);
  EXPECT_EQ(got.term_cols, want.term_cols);
  EXPECT_EQ(got.term_rows, want.term_rows);
  EXPECT_EQ(got.term_type, want.term_type);
  EXPECT_EQ(got.title, want.title);
  EXPECT_EQ(got.user, want.user);
  EXPECT_EQ(got.groups, want.groups);
  EXPECT_EQ(got.user_source, want.user_source);
  EXPECT_EQ(got.kube_user, want.kube_user);
  EXPECT_EQ(got.as_user, want.as_user);
  EXPECT_EQ(got.as_groups, want.as_groups);
  EXPECT_EQ(got.local_user, want.local_user);
  EXPECT_EQ(got.host, want.host);
  EXPECT_EQ(got.recorder_version, want.recorder_version);
  EXPECT_TRUE(row->ended);
  EXPECT_EQ(row->end_reason, "completed");
  EXPECT_EQ(row->end.end_reason, "completed");
  EXPECT_EQ(row->end.ended_at_ns, end.ended_at_ns);
  EXPECT_EQ(row->end.exit_code, 3);
  EXPECT_EQ(row->end.raw_status, end.raw_status);
  EXPECT_EQ(row->end.close_code, 1000);
  EXPECT_EQ(row->end.close_reason, "bye");
  EXPECT_TRUE(row->end.recording_complete);
  EXPECT_EQ(row->frames, 7);
  EXPECT_EQ(row->bytes, 3 + 3);  // stdout + stderr from the server only

  auto back = ReadAll(*store, id);
  ASSERT_TRUE(back.status.ok()) << back.status.message();
  EXPECT_EQ(back.seqs, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(back.t_ns, (std::vector<int64_t>{0, 10, 20, 30, 40, 50, 60}));
  EXPECT_EQ(back.channels, (std::vector<uint8_t>{1, 4, 0, 1, 2, 3, 255}));
  EXPECT_EQ(back.payloads[0], "");
  EXPECT_EQ(back.payloads[3], std::string("a\0b", 3));
  EXPECT_EQ(back.payloads[6], std::string("\0", 1));
  EXPECT_EQ(back.directions[2], Direction::kToServer);
  EXPECT_TRUE(back.chain_ok) << back.first_bad_seq;
  ASSERT_TRUE(row->chain_head.has_value());
  EXPECT_EQ(*row->chain_head, back.head);
  ASSERT_TRUE(row->seal.has_value());
  EXPECT_EQ(*row->seal, ComputeSeal(row->meta, row->end, *row->chain_head, row->frames));
}

TEST(StoreTest, ReadFramesStopsAtTheCallbacksError) {
  auto store = OpenOrDie(":memory:");
  std::string id = Record(*store, SampleMeta(), 10);
  int calls = 0;
  Status st = store->ReadFrames(id, [&](const FrameView& f) {
    ++calls;
    return f.seq == 3 ? Status::InvalidArgument("stop here") : Status::OK();
  });
  EXPECT_EQ(st, Status::InvalidArgument("stop here"));
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(store->ReadFrames("no-such-id", [](const FrameView&) { return Status::OK(); }).code(),
            Status::Code::kNotFound);
}

TEST(StoreTest, SessionWithoutFramesIsSealedFromTheChainStart) {
  auto store = OpenOrDie(":memory:");
  std::string id = Record(*store, SampleMeta(), 0);
  Result<SessionRow> row = store->Find(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->frames, 0);
  EXPECT_FALSE(row->chain_head.has_value());
  ASSERT_TRUE(row->seal.has_value());
  EXPECT_EQ(*row->seal, ComputeSeal(row->meta, row->end, ChainStart(id), 0));
}

TEST(StoreTest, ListIsNewestFirstWithFilters) {
  auto store = OpenOrDie(":memory:");
  const int64_t base = 1764000000000000000;
  auto meta = [&](std::string ns, std::string pod, std::string container, std::string user,
                  int64_t minute) {
    SessionMeta m = SampleMeta(pod);
    m.namespace_ = std::move(ns);
    m.container = std::move(container);
    m.user = user;
    m.kube_user = user + "-kube";
    m.local_user = user + "-os";
    m.started_at_ns = base + minute * 60'000'000'000;
    return m;
  };
  std::string a = Record(*store, meta("prod", "db-0", "pg", "alice", 1), 2);
  std::string b = Record(*store, meta("prod", "web-0", "app", "bob", 2), 3);
  std::string c = Record(*store, meta("dev", "web-0", "app", "alice", 3), 1);
  std::string d = Record(*store, meta("dev", "web-1", "sidecar", "carol", 4), 0);

  auto ids = [&](const SessionFilter& f) {
    std::vector<std::string> out;
    auto rows = store->List(f);
    EXPECT_TRUE(rows.ok()) << rows.status().message();
    if (rows.ok()) {
      for (const SessionRow& r : *rows) out.push_back(r.meta.id);
    }
    return out;
  };
  EXPECT_EQ(ids({}), (std::vector<std::string>{d, c, b, a}));
  SessionFilter f;
  f.namespace_ = "prod";
  EXPECT_EQ(ids(f), (std::vector<std::string>{b, a}));
  f = {};
  f.pod = "web-0";
  EXPECT_EQ(ids(f), (std::vector<std::string>{c, b}));
  f = {};
  f.container = "sidecar";
  EXPECT_EQ(ids(f), (std::vector<std::string>{d}));
  f = {};
  f.user = "alice";
  EXPECT_EQ(ids(f), (std::vector<std::string>{c, a}));
  f.user = "bob-kube";
  EXPECT_EQ(ids(f), (std::vector<std::string>{b}));
  f.user = "carol-os";
  EXPECT_EQ(ids(f), (std::vector<std::string>{d}));
  f = {};
  f.since_ns = base + 2 * 60'000'000'000;
  f.until_ns = base + 3 * 60'000'000'000;
  EXPECT_EQ(ids(f), (std::vector<std::string>{c, b}));
  f = {};
  f.limit = 2;
  EXPECT_EQ(ids(f), (std::vector<std::string>{d, c}));
  f = {};
  f.namespace_ = "dev";
  f.pod = "web-0";
  f.user = "alice";
  EXPECT_EQ(ids(f), (std::vector<std::string>{c}));
  f.pod = "db-0";
  EXPECT_TRUE(ids(f).empty());

  auto rows = store->List({});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[3].frames, 2);
  EXPECT_EQ((*rows)[3].bytes, 20);
  EXPECT_EQ((*rows)[2].frames, 3);
}

TEST(StoreTest, ShortIdsAreUniquePrefixesOfTheRandomTail) {
  auto store = OpenOrDie(":memory:");
  std::set<std::string> shorts;
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(Record(*store, SampleMeta(), 0));
  auto rows = store->List({});
  ASSERT_TRUE(rows.ok());
  for (const SessionRow& r : *rows) {
    EXPECT_GE(r.short_id.size(), 8u);
    EXPECT_EQ(r.meta.id.substr(24, r.short_id.size()), r.short_id);
    shorts.insert(r.short_id);
    Result<SessionRow> found = store->Find(r.short_id);
    ASSERT_TRUE(found.ok()) << found.status().message();
    EXPECT_EQ(found->meta.id, r.meta.id);
    Result<SessionRow> upper = store->Find(r.meta.id);
    ASSERT_TRUE(upper.ok());
    EXPECT_EQ(upper->short_id, r.short_id);
  }
  EXPECT_EQ(shorts.size(), 50u);
}

TEST(StoreTest, ShortIdGrowsPastACommonPrefixAndAmbiguityIsAnError) {
  auto store = OpenOrDie(":memory:");
  SessionMeta m1 = SampleMeta(), m2 = SampleMeta(), m3 = SampleMeta();
  m1.id = "0190f0e0-0000-7000-8000-aaaaaaaaa001";
  m2.id = "0190f0e0-0000-7000-8000-aaaaaaaaa002";
  m3.id = "0190f0e0-0000-7000-8000-bbbbbbbb0003";
  Record(*store, m1, 0);
  Record(*store, m2, 0);
  Record(*store, m3, 0);
  Result<SessionRow> r1 = store->Find(m1.id);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->short_id, "aaaaaaaaa001");
  Result<SessionRow> r3 = store->Find(m3.id);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->short_id, "bbbbbbbb");
  EXPECT_EQ(store->Find("bbbbbbbb")->meta.id, m3.id);
  EXPECT_EQ(store->Find("AAAAAAAAA002")->meta.id, m2.id);
  Result<SessionRow> amb = store->Find("aaaaaaaa");
  EXPECT_EQ(amb.status(),
            Status::InvalidArgument("short id aaaaaaaa matches several sessions: give more of it"));
  EXPECT_EQ(store->Find("cccccccc").status().code(), Status::Code::kNotFound);
  EXPECT_EQ(store->Find("not-an-id").status().code(), Status::Code::kInvalidArgument);
}

TEST(StoreTest, LastIsTheMostRecentlyStartedRunningOrNot) {
  auto store = OpenOrDie(":memory:");
  EXPECT_EQ(store->Find("last").status(), Status::NotFound("the store holds no session yet"));
  SessionMeta old = SampleMeta("old");
  old.started_at_ns = 1764000000000000000;
  Record(*store, old, 1);
  SessionMeta newer = SampleMeta("newer");
  newer.started_at_ns = 1764000000000000000 + 10;
  auto w = SessionWriter::Start(*store, newer);
  ASSERT_TRUE(w.ok());
  Result<SessionRow> last = store->Find("last");
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->meta.pod, "newer");
  EXPECT_EQ(last->end_reason, "running");
  EXPECT_FALSE(last->ended);
  ASSERT_TRUE((*w)->Finish({}).ok());
  EXPECT_EQ(store->Find("last")->end_reason, "completed");
}

TEST(StoreTest, WriterGoneWithoutFinishReadsInterruptedInMemory) {
  auto store = OpenOrDie(":memory:");
  std::string id;
  {
    auto w = SessionWriter::Start(*store, SampleMeta());
    ASSERT_TRUE(w.ok());
    id = (*w)->id();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE((*w)->Append(i, Direction::kFromServer, 1, PayloadFor(i, 100)).ok());
    }
  }  // destroyed without Finish: what was queued is committed, the session is not ended
  Result<SessionRow> row = store->Find(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->end_reason, "interrupted");
  EXPECT_FALSE(row->seal.has_value());
  EXPECT_EQ(row->frames, 5);
  auto back = ReadAll(*store, id);
  EXPECT_EQ(back.seqs.size(), 5u);
  EXPECT_TRUE(back.chain_ok);
  EXPECT_EQ(*row->chain_head, back.head);
}

TEST(StoreTest, CreatesFilesPrivateAndDirectories0700) {
  TempDir dir;
  std::string db = dir.File("a/b/podtape.db");
  auto store = OpenOrDie(db);
  ASSERT_NE(store, nullptr);
  auto w = SessionWriter::Start(db, SampleMeta());
  ASSERT_TRUE(w.ok()) << w.status().message();
  ASSERT_TRUE((*w)->Append(0, Direction::kFromServer, 1, "x").ok());
  EXPECT_EQ(Mode(dir.File("a")), 0700);
  EXPECT_EQ(Mode(dir.File("a/b")), 0700);
  EXPECT_EQ(Mode(db), 0600);
  EXPECT_EQ(Mode(db + "-wal"), 0600);
  EXPECT_EQ(Mode(db + "-shm"), 0600);
  EXPECT_EQ(Mode(db + ".live"), 0600);
  ASSERT_TRUE((*w)->Finish({}).ok());
}

TEST(StoreTest, FileStoreRoundTripAndRunningInThisProcess) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  auto store = OpenOrDie(db);
  auto w = SessionWriter::Start(db, SampleMeta());
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE((*w)->Append(i * 10, Direction::kFromServer, 1, PayloadFor(i, 1000)).ok());
  }
  // A writer alive in this process reads as running (its lock is on another open file).
  EXPECT_EQ(store->Find((*w)->id())->end_reason, "running");
  std::string id = (*w)->id();
  SessionEnd end;
  end.exit_code = 0;
  ASSERT_TRUE((*w)->Finish(end).ok());
  Result<SessionRow> row = store->Find(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->end_reason, "completed");
  EXPECT_EQ(row->frames, 300);
  EXPECT_EQ(row->bytes, 300000);
  auto back = ReadAll(*store, id);
  ASSERT_EQ(back.payloads.size(), 300u);
  for (int i = 0; i < 300; ++i) ASSERT_EQ(back.payloads[i], PayloadFor(i, 1000)) << i;
  EXPECT_TRUE(back.chain_ok);
  EXPECT_EQ(*row->seal, ComputeSeal(row->meta, row->end, *row->chain_head, row->frames));
}

TEST(StoreTest, NewerSchemaVersionIsRefused) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  { ASSERT_NE(OpenOrDie(db), nullptr); }  // closing the last connection checkpoints the WAL
  // PRAGMA user_version lives at byte 60 of the database header (big-endian).
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(60);
    const char v[4] = {0, 0, 0, static_cast<char>(kSchemaVersion + 1)};
    f.write(v, 4);
  }
  Result<std::unique_ptr<Store>> s = Store::Open(db);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kUnsupported);
  EXPECT_EQ(s.status().message(),
            fmt::format("opening {}: database schema version {} is newer than this podtape "
                        "supports ({}); upgrade podtape",
                        db, kSchemaVersion + 1, kSchemaVersion));
  EXPECT_FALSE(SessionWriter::Start(db, SampleMeta()).ok());
}

TEST(StoreTest, AnEmptyOlderFileIsMigrated) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  podtape::testing::WriteFile(db, "");  // version 0: no tables yet
  auto store = OpenOrDie(db);
  ASSERT_NE(store, nullptr);
  auto rows = store->List({});
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_TRUE(rows->empty());
}

TEST(StoreTest, NotADatabaseIsReported) {
  TempDir dir;
  std::string db = dir.File("junk.db");
  podtape::testing::WriteFile(db, std::string(4096, 'x'));
  Result<std::unique_ptr<Store>> s = Store::Open(db);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not a database"), std::string::npos) << s.status().message();
}

TEST(StoreTest, ATamperedPayloadBreaksTheChainAtThatFrame) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  std::string id;
  {
    auto w = SessionWriter::Start(db, SampleMeta());
    ASSERT_TRUE(w.ok());
    id = (*w)->id();
    for (int i = 0; i < 20; ++i) {
      std::string p = i == 7 ? std::string("rm -rf /important-data") : PayloadFor(i, 50);
      ASSERT_TRUE((*w)->Append(i, Direction::kToServer, 0, p).ok());
    }
    ASSERT_TRUE((*w)->Finish({}).ok());
  }
  // Edit the bytes in the file as an attacker with write access would (same length).
  std::string bytes = podtape::testing::ReadFile(db);
  size_t at = bytes.find("rm -rf /important-data");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 22, "ls -la /important-data");
  podtape::testing::WriteFile(db, bytes);
  auto store = OpenOrDie(db);
  auto back = ReadAll(*store, id);
  ASSERT_TRUE(back.status.ok()) << back.status.message();
  EXPECT_EQ(back.payloads[7], "ls -la /important-data");
  EXPECT_FALSE(back.chain_ok);
  EXPECT_EQ(back.first_bad_seq, 7);
}

TEST(StoreTest, SignatureIsStoredForSealedSessionsOnly) {
  auto store = OpenOrDie(":memory:");
  std::string id = Record(*store, SampleMeta(), 1);
  ASSERT_TRUE(store->SetSignature(id, std::string(64, '\x01')).ok());
  EXPECT_EQ(store->Find(id)->signature, std::string(64, '\x01'));
  auto w = SessionWriter::Start(*store, SampleMeta());
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(store->SetSignature((*w)->id(), "sig").code(), Status::Code::kNotFound);
  ASSERT_TRUE((*w)->Finish({}).ok());
}

TEST(StoreCheckTest, IntactSessionPassesAndUnsealedOneIsNeverIntact) {
  auto store = OpenOrDie(":memory:");
  std::string id = Record(*store, SampleMeta(), 5);
  Result<SessionRow> row = store->Find(id);
  ASSERT_TRUE(row.ok());
  Result<SessionCheck> c = CheckSession(*store, *row);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->intact()) << c->problem;
  EXPECT_EQ(c->frames_read, 5);
  EXPECT_EQ(c->problem, "");

  auto w = SessionWriter::Start(*store, SampleMeta());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append(0, Direction::kFromServer, 1, "x").ok());
  (*w).reset();  // gone without Finish
  Result<SessionRow> cut = store->Find("last");
  ASSERT_TRUE(cut.ok());
  c = CheckSession(*store, *cut);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->intact());
  EXPECT_FALSE(c->first_bad_seq.has_value());
  EXPECT_TRUE(c->head_matches);
  EXPECT_EQ(c->problem, "the session is not sealed (still running or interrupted)");
}

TEST(StoreCheckTest, EditedFileIsCaughtByChainOrSeal) {
  TempDir dir;
  std::string db = dir.File("podtape.db");
  std::string id;
  {
    SessionMeta meta = SampleMeta("tamperpod-1");
    auto w = SessionWriter::Start(db, meta);
    ASSERT_TRUE(w.ok());
    id = (*w)->id();
    for (int i = 0; i < 10; ++i) {
      std::string p = i == 4 ? std::string("secret-output-4") : PayloadFor(i, 40);
      ASSERT_TRUE((*w)->Append(i, Direction::kFromServer, 1, p).ok());
    }
    ASSERT_TRUE((*w)->Finish({}).ok());
  }
  auto check = [&] {
    auto store = OpenOrDie(db);
    Result<SessionRow> row = store->Find(id);
    EXPECT_TRUE(row.ok());
    Result<SessionCheck> c = CheckSession(*store, *row);
    EXPECT_TRUE(c.ok());
    return *c;
  };
  EXPECT_TRUE(check().intact());
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string bytes = podtape::testing::ReadFile(db);
    size_t at = bytes.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    bytes.replace(at, from.size(), to);
    podtape::testing::WriteFile(db, bytes);
  };
  edit("tamperpod-1", "tamperpod-2");
  SessionCheck c = check();
  EXPECT_FALSE(c.intact());
  EXPECT_FALSE(c.first_bad_seq.has_value());
  EXPECT_FALSE(c.seal_matches);
  EXPECT_EQ(c.problem, "the seal does not match the session's recorded fields");
  edit("secret-output-4", "benign-output-4");
  c = check();
  EXPECT_EQ(c.first_bad_seq, 4);
  EXPECT_EQ(c.problem, "frame 4 does not match its hash: it or an earlier frame was changed");
}

TEST(StoreTest, RunningIsSeenThroughASymlinkToTheStore) {
  TempDir dir;
  std::string db = dir.File("real.db");
  std::string link = dir.File("link.db");
  auto w = SessionWriter::Start(db, SampleMeta());
  ASSERT_TRUE(w.ok());
  ASSERT_EQ(symlink(db.c_str(), link.c_str()), 0);
  auto store = OpenOrDie(link);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Find((*w)->id())->end_reason, "running");
  ASSERT_TRUE((*w)->Finish({}).ok());
  EXPECT_EQ(store->Find((*w)->id())->end_reason, "completed");
}

TEST(StoreCheckTest, DefaultsAndBytesThatAreNotUtf8StillVerify) {
  auto store = OpenOrDie(":memory:");
  SessionMeta meta = SampleMeta();
  meta.user_source = "";  // stored as "none"
  meta.command = {"printf", std::string("\xff\xfe\"\\\n", 5)};
  meta.groups = {};
  std::string id = Record(*store, meta, 2);
  Result<SessionRow> row = store->Find(id);
  ASSERT_TRUE(row.ok()) << row.status().message();
  EXPECT_EQ(row->meta.user_source, "none");
  EXPECT_EQ(row->meta.command, meta.command);
  Result<SessionCheck> c = CheckSession(*store, *row);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->intact()) << c->problem;
}

}  // namespace
}  // namespace podtape::store
