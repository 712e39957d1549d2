// Payload compression (frames.codec 1 = zstd, 2 and 3 = frames compressed as a group): round
// trips, the sqlite3-shell recipes of schema/README.md, old raw-only files, tampered compressed
// rows and groups, storage ratios and prune.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "schema/payload_codec.h"
#include "schema/prune.h"
#include "schema/store.h"
#include "schema/store_test_util.h"
#include "schema/text_log.h"
#include "test_util.h"

namespace podtape::store {
namespace {

using podtape::testing::ReadFile;
using podtape::testing::Run;
using podtape::testing::RunOptions;
using podtape::testing::RunResult;
using podtape::testing::TempDir;
using testing::ReadAll;
using testing::SampleMeta;
using testing::TextLog;

std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  Result<std::unique_ptr<Store>> s = Store::Open(path);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

// Runs SQL with the sqlite3 shell (fed on stdin, so long statements fit); returns its stdout.
std::string Sql(const std::string& db, const std::string& sql) {
  RunOptions o;
  o.stdin_data = sql;
  o.timeout = std::chrono::seconds(60);
  RunResult r = podtape::testing::Run({"sqlite3", db}, o);
  EXPECT_EQ(r.exit_code, 0) << sql.substr(0, 200) << "\n" << r.err;
  return r.out;
}

std::string Hex(std::string_view bytes) {
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) s += fmt::format("{:02X}", c);
  return s;
}

std::string Unhex(std::string_view hex) {
  std::string s;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    s += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
  }
  return s;
}

struct StoredRow {
  int64_t codec = -1;
  int64_t length = -1;
};

// codec and stored length of every frame of `id`, by seq.
std::vector<StoredRow> StoredRows(const std::string& db, const std::string& id) {
  std::istringstream out(Sql(db, fmt::format("SELECT codec, length(payload) FROM frames WHERE "
                                             "session_key = (SELECT session_key FROM sessions "
                                             "WHERE id = '{}') ORDER BY seq;",
                                             id)));
  std::vector<StoredRow> rows;
  std::string line;
  while (std::getline(out, line)) {
    size_t bar = line.find('|');
    if (bar == std::string::npos) continue;
    rows.push_back({std::stoll(line.substr(0, bar)), std::stoll(line.substr(bar + 1))});
  }
  return rows;
}

struct Frame {
  Direction direction;
  uint8_t channel;
  std::string payload;
};

// Records `frames` as one session. Batches (and so the groups the writer forms) are the same on
// every run: no commit falls due by time, and under 1 MiB of frames nothing closes a batch early,
// so every frame goes in Finish's one batch.
std::string RecordFrames(const std::string& db, const std::vector<Frame>& frames,
                         const std::string& pod = "web-0") {
  SessionWriter::Options options;
  options.commit_interval_ms = 600000;
  auto w = SessionWriter::Start(db, SampleMeta(pod), options);
  EXPECT_TRUE(w.ok()) << w.status().message();
  if (!w.ok()) return "";
  for (size_t i = 0; i < frames.size(); ++i) {
    const Frame& f = frames[i];
    EXPECT_TRUE(
        (*w)->Append(static_cast<int64_t>(i) * 1000, f.direction, f.channel, f.payload).ok());
  }
  std::string id = (*w)->id();
  SessionEnd end;
  end.exit_code = 0;
  EXPECT_TRUE((*w)->Finish(end).ok());
  return id;
}

TEST(StoreCompressionTest, CompressibleIncompressibleTinyAndEmptyFramesRoundTrip) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  TextLog log;
  std::vector<Frame> frames = {
      {Direction::kFromServer, 1, ""},                        // 0: the empty "ready" frame
      {Direction::kToServer, 0, "l"},                         // 1: a keystroke
      {Direction::kFromServer, 1, log.Chunk(63)},             // 2: below the threshold
      {Direction::kFromServer, 1, log.Chunk(32768)},          // 3: text: compressed
      {Direction::kFromServer, 2, log.RandomBytes(32768)},    // 4: random: raw
      {Direction::kFromServer, 1, log.Chunk(32768)},          // 5: raw, untried (back-off)
      {Direction::kToServer, 0, "\r"},                        // 6: tiny frames do not count
      {Direction::kFromServer, 1, log.Chunk(300 * 1024)},     // 7: compressed again, alone
      {Direction::kFromServer, 1, std::string(100000, 'x')},  // 8: one long run, a group's head
      {Direction::kFromServer, 1, std::string(64, '\0')},     // 9: exactly the threshold, in 8's
  };
  const std::string id = RecordFrames(db, frames);
  ASSERT_FALSE(id.empty());

  auto store = OpenOrDie(db);
  ASSERT_NE(store, nullptr);
  auto back = ReadAll(*store, id);
  ASSERT_TRUE(back.status.ok()) << back.status.message();
  ASSERT_EQ(back.payloads.size(), frames.size());
  for (size_t i = 0; i < frames.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(back.seqs[i], static_cast<int64_t>(i));
    EXPECT_EQ(back.directions[i], frames[i].direction);
    EXPECT_EQ(back.channels[i], frames[i].channel);
    EXPECT_TRUE(back.payloads[i] == frames[i].payload) << back.payloads[i].size();
  }
  EXPECT_TRUE(back.chain_ok) << back.first_bad_seq;
  auto row = store->Find(id);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(row->bytes, 63 + 32768 * 3 + 300 * 1024 + 100000 + 64);
  auto check = CheckSession(*store, *row);
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_TRUE(check->intact()) << check->problem;

  const std::vector<StoredRow> rows = StoredRows(db, id);
  ASSERT_EQ(rows.size(), frames.size());
  // 3 is alone in its stream; 7 is larger than a group; 8 and 9 are neighbours of one stream.
  const std::vector<int64_t> codecs = {0, 0, 0, 1, 0, 0, 0, 1, 2, 3};
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(rows[i].codec, codecs[i]);
    if (rows[i].codec == 0) {
      EXPECT_EQ(rows[i].length, static_cast<int64_t>(frames[i].payload.size()));
    }
  }
  EXPECT_LT(rows[3].length, 32768 * 35 / 100);
  EXPECT_LT(rows[7].length, 300 * 1024 * 35 / 100);
  EXPECT_LT(rows[8].length, 100);
  EXPECT_EQ(rows[9].length, 0);
}

TEST(StoreCompressionTest, InMemoryStoreCompressesToo) {
  auto store = OpenOrDie(":memory:");
  ASSERT_NE(store, nullptr);
  TextLog log;
  std::vector<std::string> payloads;
  auto w = SessionWriter::Start(*store, SampleMeta());
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 40; ++i) {
    payloads.push_back(i % 5 == 4 ? log.RandomBytes(4096)
                                  : log.Chunk(static_cast<size_t>(i) * 997));
    ASSERT_TRUE((*w)->Append(i, Direction::kFromServer, 1, payloads.back()).ok());
  }
  const std::string id = (*w)->id();
  ASSERT_TRUE((*w)->Finish({}).ok());
  auto back = ReadAll(*store, id);
  ASSERT_TRUE(back.status.ok()) << back.status.message();
  EXPECT_TRUE(back.payloads == payloads);
  EXPECT_TRUE(back.chain_ok);
  auto check = CheckSession(*store, *store->Find(id));
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->intact()) << check->problem;
}

// schema/README.md's recipe for a codec-1 row: writefile() in the sqlite3 shell, then zstd -d.
TEST(StoreCompressionTest, ACompressedRowReadsBackWithTheSqliteShellAndZstd) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  TextLog log;
  const std::string text = log.Chunk(32768);
  const std::string id = RecordFrames(db, {{Direction::kFromServer, 1, text}});
  ASSERT_FALSE(id.empty());
  const std::string zst = dir.File("frame.zst");
  Sql(db, fmt::format("SELECT writefile('{}', payload) FROM frames WHERE session_key = "
                      "(SELECT session_key FROM sessions WHERE id = '{}') AND seq = 0 AND "
                      "codec = 1;",
                      zst, id));
  RunResult r = podtape::testing::Run({"zstd", "-q", "-d", "-c", zst});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == text) << r.out.size();
  // Raw rows need nothing more than the shell.
  const std::string id2 = RecordFrames(db, {{Direction::kFromServer, 1, "hello\n"}});
  EXPECT_EQ(Sql(db, fmt::format("SELECT CAST(payload AS TEXT) FROM frames WHERE session_key = "
                                "(SELECT session_key FROM sessions WHERE id = '{}') AND "
                                "codec = 0;",
                                id2)),
            "hello\n\n");
}

// A file as podtape wrote it before compression (every row codec 0), made with the sqlite3 shell
// from the released schema steps, still reads and verifies, and takes new sessions.
class OldFormatTest : public ::testing::TestWithParam<int> {};

TEST_P(OldFormatTest, RawOnlyFileReadsVerifiesAndTakesNewSessions) {
  const int version = GetParam();
  TempDir dir;
  const std::string db = dir.File("old.db");
  std::string schema = ReadFile(std::string(PODTAPE_SOURCE_DIR) + "/schema/schema.sql");
  size_t next = schema.find(fmt::format("\n-- version {}\n", version + 1));
  if (next != std::string::npos) schema.resize(next);

  SessionMeta m;
  m.id = "01937f2a-1b2c-7d3e-8f40-0123456789ab";
  m.kind = "exec";
  m.started_at_ns = 1732600000000000000;
  m.pod = "old-0";
  m.command = {"cat", "app.log"};
  m.user_source = "none";
  SessionEnd e;
  e.ended_at_ns = m.started_at_ns + 5'000'000'000;
  e.end_reason = "completed";
  e.exit_code = 0;
  TextLog log;
  std::vector<std::string> payloads = {"", log.Chunk(32768), "x", log.Chunk(5000)};
  std::string sql =
      "PRAGMA journal_mode=WAL;\n" + schema + fmt::format("\nPRAGMA user_version = {};\n", version);
  Hash head = ChainStart(m.id);
  int64_t bytes = 0;
  for (size_t i = 0; i < payloads.size(); ++i) {
    const int64_t t = static_cast<int64_t>(i) * 1000;
    head = ChainNext(head, static_cast<int64_t>(i), t, Direction::kFromServer, 1, payloads[i]);
    bytes += static_cast<int64_t>(payloads[i].size());
    sql += fmt::format(
        "INSERT INTO frames (session_key, seq, t_ns, direction, channel, codec, payload, hash) "
        "VALUES (1, {}, {}, 1, 1, 0, X'{}', X'{}');\n",
        i, t, Hex(payloads[i]),
        Hex(std::string_view(reinterpret_cast<const char*>(head.data()), 32)));
  }
  const int64_t n = static_cast<int64_t>(payloads.size());
  const Hash seal = ComputeSeal(m, e, head, n);
  auto hex = [](const Hash& h) {
    return Hex(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
  };
  sql += fmt::format(
      "INSERT INTO sessions (session_key, id, kind, started_at_ns, ended_at_ns, end_reason, "
      "error, exit_code, close_reason, pod, command, frames, bytes, chain_head, seal) VALUES "
      "(1, '{}', 'exec', {}, {}, 'completed', '', 0, '', 'old-0', '[\"cat\",\"app.log\"]', {}, "
      "{}, X'{}', X'{}');\n",
      m.id, m.started_at_ns, e.ended_at_ns, n, bytes, hex(head), hex(seal));
  Sql(db, sql);
  ASSERT_EQ(Sql(db, "PRAGMA user_version;"), fmt::format("{}\n", version));

  auto store = OpenOrDie(db);  // migrates to the current version
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Sql(db, "PRAGMA user_version;"), fmt::format("{}\n", kSchemaVersion));
  auto row = store->Find(m.id);
  ASSERT_TRUE(row.ok()) << row.status().message();
  auto back = ReadAll(*store, m.id);
  ASSERT_TRUE(back.status.ok()) << back.status.message();
  EXPECT_TRUE(back.payloads == payloads);
  EXPECT_TRUE(back.chain_ok);
  auto check = CheckSession(*store, *row);
  ASSERT_TRUE(check.ok()) << check.status().message();
  EXPECT_TRUE(check->intact()) << check->problem;

  // A new session in the same file is compressed beside the old raw one; both verify.
  const std::string id = RecordFrames(db, {{Direction::kFromServer, 1, log.Chunk(32768)}});
  ASSERT_EQ(StoredRows(db, id).size(), 1u);
  EXPECT_EQ(StoredRows(db, id)[0].codec, 1);
  for (const std::string& ref : {m.id, id}) {
    auto check = CheckSession(*store, *store->Find(ref));
    ASSERT_TRUE(check.ok()) << check.status().message();
    EXPECT_TRUE(check->intact()) << check->problem;
  }
}

INSTANTIATE_TEST_SUITE_P(Versions, OldFormatTest, ::testing::Values(1, 2));

// A changed compressed row is reported as a changed frame or as corruption, in one line naming
// the frame; never a crash, never read as intact (ASan checks the decoder on every edit).
TEST(StoreCompressionTest, AnEditedCompressedPayloadIsCaught) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  TextLog log;
  std::vector<Frame> frames;
  // Keystrokes between the text frames keep each one alone (codec 1): groups are tested below.
  for (int i = 0; i < 2; ++i) {
    frames.push_back({Direction::kFromServer, 1, log.Chunk(32768)});
    frames.push_back({Direction::kToServer, 0, "x"});
  }
  frames.push_back({Direction::kFromServer, 1, log.Chunk(32768)});
  const std::string id = RecordFrames(db, frames);
  ASSERT_FALSE(id.empty());
  const std::vector<StoredRow> rows = StoredRows(db, id);
  ASSERT_EQ(rows.size(), 5u);
  ASSERT_EQ(rows[2].codec, 1);
  ASSERT_EQ(rows[3].codec, 0);
  const std::string where = fmt::format(
      " WHERE session_key = (SELECT session_key FROM sessions WHERE id = '{}') AND seq = ", id);
  const std::string blob = Unhex(Sql(db, "SELECT hex(payload) FROM frames" + where + "2;"));
  ASSERT_EQ(static_cast<int64_t>(blob.size()), rows[2].length);

  struct Edit {
    const char* name;
    int64_t seq;
    std::string sql;
  };
  auto with_blob = [&](std::string b) {
    return "UPDATE frames SET payload = X'" + Hex(b) + "'" + where + "2;";
  };
  std::string flipped_middle = blob;
  flipped_middle[blob.size() / 2] ^= 0x20;
  std::string flipped_header = blob;
  flipped_header[5] ^= 0x01;  // the frame content size
  std::string huge = blob.substr(0, 4) + std::string("\xE0\x00\x00\x00\x00\x00\x01\x00\x00", 9);
  const std::vector<Edit> edits = {
      {"a byte changed in the middle", 2, with_blob(flipped_middle)},
      {"the declared size changed", 2, with_blob(flipped_header)},
      {"cut short", 2, with_blob(blob.substr(0, blob.size() - 10))},
      {"bytes appended", 2, with_blob(blob + "junk")},
      {"a huge declared size", 2, with_blob(huge)},
      {"not zstd at all", 2, with_blob("hello, world")},
      {"stored raw instead", 2, "UPDATE frames SET codec = 0" + where + "2;"},
      {"a raw row marked compressed", 3, "UPDATE frames SET codec = 1" + where + "3;"},
  };
  auto store = OpenOrDie(db);
  ASSERT_NE(store, nullptr);
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.name);
    Sql(db, e.sql);
    auto row = store->Find(id);
    ASSERT_TRUE(row.ok());
    auto check = CheckSession(*store, *row);
    if (check.ok()) {
      EXPECT_FALSE(check->intact());
      ASSERT_TRUE(check->first_bad_seq.has_value()) << check->problem;
      EXPECT_EQ(*check->first_bad_seq, e.seq);
    } else {
      EXPECT_EQ(check.status().code(), Status::Code::kCorruption) << check.status().message();
      const std::string& msg = check.status().message();
      EXPECT_NE(msg.find(fmt::format("frame {} of session", e.seq)), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
    // (podtape verify reports a Corruption from CheckSession as "tampered", with this message.)
    // Put the row back: the session verifies again.
    Sql(db, with_blob(blob) + "UPDATE frames SET codec = 1" + where + "2;" +
                "UPDATE frames SET codec = 0" + where + "3;");
    check = CheckSession(*store, *store->Find(id));
    ASSERT_TRUE(check.ok()) << check.status().message();
    EXPECT_TRUE(check->intact()) << check->problem;
  }
}

// schema/README.md's recipe for a whole session's output, as written there, run by bash: every
// codec (raw, alone, a group) comes out as podtape cat gives it.
TEST(StoreCompressionTest, TheReadmeRecipeForAWholeSessionsOutputGivesEveryByte) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  TextLog log;
  std::vector<Frame> frames = {
      {Direction::kFromServer, 1, "$ "},                   // raw
      {Direction::kToServer, 0, "cat app.log\r"},          // stdin: not output
      {Direction::kFromServer, 1, log.Chunk(20000)},       // a group of three
      {Direction::kFromServer, 1, log.Chunk(20000)},       //
      {Direction::kFromServer, 1, log.Chunk(20000)},       //
      {Direction::kFromServer, 2, log.Chunk(5000)},        // alone in its stream: codec 1
      {Direction::kFromServer, 1, log.RandomBytes(3000)},  // raw
  };
  const std::string id = RecordFrames(db, frames);
  ASSERT_FALSE(id.empty());
  const std::vector<StoredRow> rows = StoredRows(db, id);
  ASSERT_EQ(rows.size(), frames.size());
  EXPECT_EQ(rows[2].codec, 2);
  EXPECT_EQ(rows[4].codec, 3);
  EXPECT_EQ(rows[5].codec, 1);
  std::string want;
  for (const Frame& f : frames) {
    if (f.direction == Direction::kFromServer) want += f.payload;
  }
  const std::string recipe = fmt::format(R"(set -e -o pipefail
sqlite3 -separator ' ' {} "SELECT seq, codec, writefile('f-' || seq, payload) FROM frames
     WHERE session_key = (SELECT session_key FROM sessions WHERE id = '{}')
       AND direction = 1 AND channel IN (1, 2) ORDER BY seq" |
  while read -r seq codec _; do
    case "$codec" in
      1|2) zstd -q -d -c "f-$seq" ;;
      0) cat "f-$seq" ;;
    esac
  done > output.bin
)",
                                         db, id);
  RunOptions o;
  o.cwd = dir.path();
  RunResult r = podtape::testing::Run({"bash", "-c", recipe}, o);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string got = ReadFile(dir.File("output.bin"));
  EXPECT_TRUE(got == want) << got.size() << " bytes, want " << want.size();
}

// A group (codec 2 and the codec-3 rows after it) reads back with schema/README.md's recipe: the
// head's blob through `zstd -d` is the group's frames back to back (zstd skips the size table).
// Every edit of a group is caught naming a frame: bytes, the size table, codecs, deleted rows.
TEST(StoreCompressionTest, AGroupReadsBackWithZstdAndEveryEditOfItIsCaught) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  TextLog log;
  std::vector<Frame> frames;
  for (int i = 0; i < 6; ++i) frames.push_back({Direction::kFromServer, 1, log.Chunk(20000)});
  frames.push_back({Direction::kToServer, 0, "exit\r"});
  const std::string id = RecordFrames(db, frames);
  ASSERT_FALSE(id.empty());
  const std::vector<StoredRow> rows = StoredRows(db, id);
  ASSERT_EQ(rows.size(), 7u);
  const std::vector<int64_t> codecs = {2, 3, 3, 3, 3, 3, 0};
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i].codec, codecs[i]) << i;
  EXPECT_LT(rows[0].length, 6 * 20000 * 35 / 100);

  const std::string where = fmt::format(
      " WHERE session_key = (SELECT session_key FROM sessions WHERE id = '{}') AND seq = ", id);
  const std::string zst = dir.File("group.zst");
  Sql(db, fmt::format("SELECT writefile('{}', payload) FROM frames{}0 AND codec = 2;", zst, where));
  RunResult r = podtape::testing::Run({"zstd", "-q", "-d", "-c", zst});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string joined;
  for (int i = 0; i < 6; ++i) joined += frames[static_cast<size_t>(i)].payload;
  EXPECT_TRUE(r.out == joined) << r.out.size();

  const std::string head = Unhex(Sql(db, "SELECT hex(payload) FROM frames" + where + "0;"));
  auto with_head = [&](std::string b) {
    return "UPDATE frames SET payload = X'" + Hex(b) + "'" + where + "0;";
  };
  std::string swapped = head;  // two sizes moved by one byte: the same sum, other boundaries
  swapped[8] = static_cast<char>(swapped[8] + 1);
  swapped[12] = static_cast<char>(swapped[12] - 1);
  std::string resized = head;  // a size changed: the sum no longer matches
  resized[12] ^= 0x10;
  std::string flipped = head;  // a byte of the zstd frame
  flipped[head.size() / 2] ^= 0x20;
  std::string magic = head;
  magic[0] ^= 0x01;
  struct Edit {
    const char* name;
    int64_t seq;  // the frame reported
    std::string sql;
    int64_t seq_max = -1;  // when set, any frame from seq to this one may be the one reported
  };
  const std::vector<Edit> edits = {
      {"two sizes swapped a byte", 0, with_head(swapped)},
      {"a size changed", 0, with_head(resized)},
      // zstd carries no checksum: a changed byte may decode, into whichever frame it lands in.
      {"a byte of the zstd frame", 0, with_head(flipped), 5},
      {"the table's magic", 0, with_head(magic)},
      {"cut short", 0, with_head(head.substr(0, head.size() - 9))},
      {"the head stored raw instead", 0, "UPDATE frames SET codec = 0" + where + "0;"},
      {"the head as one zstd frame", 0, "UPDATE frames SET codec = 1" + where + "0;"},
      {"a member deleted", 3, "DELETE FROM frames" + where + "3;"},
      {"the last member deleted", 5, "DELETE FROM frames" + where + "5;"},
      {"the head deleted", 1, "DELETE FROM frames" + where + "0;"},
      {"a member given bytes", 2, "UPDATE frames SET payload = X'41'" + where + "2;"},
      {"a member marked raw", 4, "UPDATE frames SET codec = 0" + where + "4;"},
      {"a raw row marked as in the group", 6, "UPDATE frames SET codec = 3" + where + "6;"},
  };
  for (const Edit& e : edits) {
    SCOPED_TRACE(e.name);
    // Each edit on a fresh copy of the file.
    const std::string copy = dir.File("edited.db");
    std::remove(copy.c_str());
    Sql(db, "VACUUM INTO '" + copy + "';");
    Sql(copy, e.sql);
    auto store = OpenOrDie(copy);
    ASSERT_NE(store, nullptr);
    auto row = store->Find(id);
    ASSERT_TRUE(row.ok());
    auto check = CheckSession(*store, *row);
    std::string said;
    int64_t named = -1;
    if (check.ok()) {
      EXPECT_FALSE(check->intact());
      ASSERT_TRUE(check->first_bad_seq.has_value()) << check->problem;
      named = *check->first_bad_seq;
      said = check->problem;
    } else {
      EXPECT_EQ(check.status().code(), Status::Code::kCorruption) << check.status().message();
      said = check.status().message();
      for (int64_t seq = 0; seq < 7 && named < 0; ++seq) {
        if (said.find(fmt::format("frame {} of session", seq)) != std::string::npos) named = seq;
      }
    }
    EXPECT_GE(named, e.seq) << said;
    EXPECT_LE(named, std::max(e.seq, e.seq_max)) << said;
    EXPECT_EQ(said.find('\n'), std::string::npos) << said;
  }
}

TEST(PayloadCodecTest, DecoderRefusesWhatTheEncoderNeverWrites) {
  EXPECT_EQ(PayloadDecoder::DecodedSize(7, "abc").status().code(), Status::Code::kUnsupported);
  EXPECT_EQ(PayloadDecoder::DecodedSize(kCodecZstd, "").status().code(), Status::Code::kCorruption);
  // A valid header whose content size is unknown (streaming frames): never written by podtape.
  std::string unknown_size("\x28\xB5\x2F\xFD\x00\x58\x01\x00\x00", 9);
  EXPECT_EQ(PayloadDecoder::DecodedSize(kCodecZstd, unknown_size).status().code(),
            Status::Code::kCorruption);
  auto raw = PayloadDecoder::DecodedSize(kCodecRaw, "as is");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, 5u);

  PayloadEncoder enc;
  ByteBuffer out;
  TextLog log;
  const std::string text = log.Chunk(4096);
  ASSERT_EQ(enc.Encode(text, &out), kCodecZstd);
  const std::string_view stored(out.data(), out.size());
  auto size = PayloadDecoder::DecodedSize(kCodecZstd, stored);
  ASSERT_TRUE(size.ok()) << size.status().message();
  ASSERT_EQ(*size, text.size());
  PayloadDecoder d;
  std::string back(*size, '\0');
  ASSERT_TRUE(d.DecompressInto(stored, back.data(), back.size()).ok());
  EXPECT_EQ(back, text);
  // A size other than the header's is refused, never written past.
  std::string short_back(*size - 1, '\0');
  EXPECT_EQ(d.DecompressInto(stored, short_back.data(), short_back.size()).code(),
            Status::Code::kCorruption);
}

// The back-off: after incompressible payloads, compression is tried again, less and less often,
// and a payload that compresses brings it back at once.
TEST(PayloadCodecTest, BacksOffOnIncompressiblePayloadsAndRecovers) {
  PayloadEncoder enc;
  ByteBuffer out;
  TextLog log;
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(enc.Encode(log.RandomBytes(1024), &out), kCodecRaw);
  }
  EXPECT_EQ(out.size(), 0u);  // nothing written for what was stored raw
  // The back-off is at its cap now: at most 64 payloads go untried before the next attempt.
  int attempts = 0;
  while (attempts <= 64 && enc.Encode(log.Chunk(4096), &out) != kCodecZstd) ++attempts;
  EXPECT_LE(attempts, 64);
  EXPECT_GT(attempts, 0);  // it was backing off
  // A payload that compressed resets it: every compressible one is compressed again.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(enc.Encode(log.Chunk(4096), &out), kCodecZstd);
}

std::vector<int> RunCodecs(PayloadEncoder& enc, const std::vector<std::string_view>& payloads,
                           const std::vector<uint16_t>& streams, ByteBuffer* out) {
  std::vector<PayloadEncoder::RunFrame> run;
  for (size_t i = 0; i < payloads.size(); ++i) run.push_back({payloads[i], streams[i]});
  std::vector<PayloadEncoder::Stored> stored(run.size());
  enc.EncodeRun(run, out, stored);
  std::vector<int> codecs;
  for (const auto& st : stored) codecs.push_back(st.codec);
  return codecs;
}

// Which neighbours EncodeRun groups: one stream, back to back in memory, each worth compressing,
// at most kGroupBytes in all; and only while compression pays.
TEST(PayloadCodecTest, EncodeRunGroupsNeighboursOfOneStreamUpToTheGroupSize) {
  TextLog log;
  std::string arena;
  for (int i = 0; i < 10; ++i) arena += log.Chunk(40000);
  std::vector<std::string_view> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(std::string_view(arena).substr(i * 40000, 40000));
  PayloadEncoder enc;
  ByteBuffer out;
  // 6 x 40000 fit in 256 KiB, a seventh does not.
  EXPECT_EQ(RunCodecs(enc, ten, std::vector<uint16_t>(10, 1), &out),
            (std::vector<int>{2, 3, 3, 3, 3, 3, 2, 3, 3, 3}));
  // Another stream between them ends a group; so does a frame too small to compress.
  std::vector<std::string_view> mixed = ten;
  mixed[3] = mixed[3].substr(0, 40);  // no longer back to back with 4 either
  EXPECT_EQ(RunCodecs(enc, mixed, {1, 1, 2, 1, 1, 1, 1, 1, 1, 1}, &out),
            (std::vector<int>{2, 3, 1, 0, 2, 3, 3, 3, 3, 3}));
  // Payloads that are not back to back in memory are compressed one by one.
  const std::string a = log.Chunk(5000), b = log.Chunk(5000);
  EXPECT_EQ(RunCodecs(enc, {a, b}, {1, 1}, &out), (std::vector<int>{1, 1}));

  // Random bytes: tried as one group once, then one frame at a time while backing off; the first
  // frame that compresses again goes alone, and groups resume after it.
  std::string noise;
  for (int i = 0; i < 40; ++i) noise += log.RandomBytes(8000);
  for (int i = 0; i < 8; ++i) noise += log.Chunk(8000);
  std::vector<std::string_view> run;
  for (int i = 0; i < 48; ++i) run.push_back(std::string_view(noise).substr(i * 8000, 8000));
  const std::vector<int> codecs = RunCodecs(enc, run, std::vector<uint16_t>(48, 1), &out);
  for (int i = 0; i < 40; ++i) EXPECT_EQ(codecs[static_cast<size_t>(i)], kCodecRaw) << i;
  std::vector<int> text(codecs.begin() + 40, codecs.end());
  // Frames 40.. are text; the back-off may skip the first few untried, then one goes alone.
  size_t first = 0;
  while (first < text.size() && text[first] == kCodecRaw) ++first;
  ASSERT_LT(first + 2, text.size());
  EXPECT_EQ(text[first], kCodecZstd);
  EXPECT_EQ(text[first + 1], kCodecZstdGroup);
  for (size_t i = first + 2; i < text.size(); ++i) EXPECT_EQ(text[i], kCodecInGroup) << i;
}

// Database bytes (sessions and frames with their indexes; the search index is a file of its own)
// per recorded byte: sizes, not timings, so deterministic.
double StoredPerRecorded(const std::string& db, int64_t recorded) {
  std::string out = Sql(db, "SELECT sum(pgsize) FROM dbstat;");
  return static_cast<double>(std::stoll(out)) / static_cast<double>(recorded);
}

TEST(StoreCompressionTest, StorageRatioOfTextLikeAndRandomStreams) {
  TempDir dir;
  TextLog log;
  constexpr int kFrames = 256;  // 8 MiB of 32 KiB frames
  std::vector<Frame> text, random;
  for (int i = 0; i < kFrames; ++i) {
    text.push_back({Direction::kFromServer, 1, log.Chunk(32768)});
    random.push_back({Direction::kFromServer, 1, log.RandomBytes(32768)});
  }
  const int64_t recorded = int64_t{kFrames} * 32768;
  const std::string text_db = dir.File("text.db");
  ASSERT_FALSE(RecordFrames(text_db, text).empty());
  const std::string random_db = dir.File("random.db");
  ASSERT_FALSE(RecordFrames(random_db, random).empty());
  const double text_ratio = StoredPerRecorded(text_db, recorded);
  const double random_ratio = StoredPerRecorded(random_db, recorded);
  std::printf("stored bytes per recorded byte: text-like %.3f, random %.3f\n", text_ratio,
              random_ratio);
  EXPECT_LT(text_ratio, 0.35);
  EXPECT_LT(random_ratio, 1.05);
  EXPECT_GT(random_ratio, 1.0);  // the measure counts what is stored
}

TEST(StoreCompressionTest, PruneRemovesACompressedSessionAndTheOtherStillVerifies) {
  TempDir dir;
  const std::string db = dir.File("podtape.db");
  TextLog log;
  std::vector<Frame> frames;
  for (int i = 0; i < 8; ++i) frames.push_back({Direction::kFromServer, 1, log.Chunk(20000)});
  const std::string gone = RecordFrames(db, frames, "old-0");
  const std::string kept = RecordFrames(db, frames, "new-0");
  auto store = OpenOrDie(db);
  ASSERT_NE(store, nullptr);
  auto removed = DeleteSession(*store, gone);
  ASSERT_TRUE(removed.ok()) << removed.status().message();
  EXPECT_EQ(*removed, 8);
  EXPECT_EQ(Sql(db, "SELECT count(*) FROM frames;"), "8\n");
  EXPECT_EQ(store->Find(gone).status().code(), Status::Code::kNotFound);
  auto back = ReadAll(*store, kept);
  ASSERT_TRUE(back.status.ok());
  EXPECT_EQ(back.payloads[7], frames[7].payload);
  auto check = CheckSession(*store, *store->Find(kept));
  ASSERT_TRUE(check.ok());
  EXPECT_TRUE(check->intact()) << check->problem;
}

}  // namespace
}  // namespace podtape::store
