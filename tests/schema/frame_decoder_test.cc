// OrderedFrameDecoder: frames come back in seq order and byte-exact whichever thread decoded
// them; errors arrive exactly where a serial reader would report them; a raw stream is handed on
// uncopied and never starts the helper; groups of frames compressed together are never split
// and a group cut short is reported at the frame that is missing.
#include "schema/frame_decoder.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "schema/payload_codec.h"
#include "schema/text_log.h"

namespace podtape::store {
namespace {

struct Stored {
  int64_t codec;
  std::string bytes;
};

Stored Encode(PayloadEncoder& enc, const std::string& payload) {
  ByteBuffer out;
  int codec = enc.Encode(payload, &out);
  if (codec == kCodecRaw) return {codec, payload};
  return {codec, std::string(out.data(), out.size())};
}

FrameView Meta(int64_t seq) {
  FrameView f{};
  f.seq = seq;
  f.t_ns = seq * 1000;
  f.direction = Direction::kFromServer;
  f.channel = 1;
  f.hash.fill(static_cast<uint8_t>(seq));
  return f;
}

struct Seen {
  std::vector<int64_t> seqs;
  std::vector<std::string> payloads;
  std::vector<bool> hash_ok;
};

// Logical payloads: text (compressed), random (raw), tiny (raw) and empty, mixed.
std::vector<std::string> MixedPayloads(size_t n) {
  testing::TextLog log;
  std::vector<std::string> p;
  for (size_t i = 0; i < n; ++i) {
    switch (i % 5) {
      case 0:
      case 1:
        p.push_back(log.Chunk(4096 + i * 7));
        break;
      case 2:
        p.push_back(log.RandomBytes(3000));
        break;
      case 3:
        p.push_back(i % 2 ? "" : "ls\r");
        break;
      default:
        p.push_back(log.Chunk(200));
    }
  }
  return p;
}

TEST(OrderedFrameDecoderTest, ManyBatchesComeBackInOrderAndExact) {
  const std::vector<std::string> payloads = MixedPayloads(400);
  PayloadEncoder enc;
  std::vector<Stored> rows;
  int compressed = 0;
  for (const auto& p : payloads) {
    rows.push_back(Encode(enc, p));
    compressed += rows.back().codec == kCodecZstd;
  }
  ASSERT_GT(compressed, 100);
  for (size_t batch_rows : {1u, 3u, 16u, 1000u}) {
    SCOPED_TRACE(batch_rows);
    Seen seen;
    OrderedFrameDecoder::Fn fn = [&](const FrameView& f) {
      seen.seqs.push_back(f.seq);
      seen.payloads.emplace_back(f.payload);
      seen.hash_ok.push_back(f.hash == Meta(f.seq).hash && f.t_ns == f.seq * 1000);
      return Status::OK();
    };
    OrderedFrameDecoder d(fn, "s1", {.batch_bytes = size_t{1} << 30, .batch_rows = batch_rows});
    for (size_t i = 0; i < rows.size(); ++i) {
      ASSERT_TRUE(d.Add(Meta(static_cast<int64_t>(i)), rows[i].codec, rows[i].bytes).ok());
    }
    ASSERT_TRUE(d.Finish().ok());
    // Only a session longer than one batch is worth a second thread.
    EXPECT_EQ(d.helper_started(), batch_rows < rows.size());
    ASSERT_EQ(seen.seqs.size(), payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i) {
      EXPECT_EQ(seen.seqs[i], static_cast<int64_t>(i));
      EXPECT_TRUE(seen.payloads[i] == payloads[i]) << i;
      EXPECT_TRUE(seen.hash_ok[i]) << i;
    }
  }
}

TEST(OrderedFrameDecoderTest, BatchesCloseOnLogicalBytes) {
  testing::TextLog log;
  PayloadEncoder enc;
  std::vector<std::string> payloads;
  for (int i = 0; i < 12; ++i) payloads.push_back(log.Chunk(50000));
  std::vector<std::string> seen;
  OrderedFrameDecoder::Fn fn = [&](const FrameView& f) {
    seen.emplace_back(f.payload);
    return Status::OK();
  };
  OrderedFrameDecoder d(fn, "s1", {.batch_bytes = 120000, .batch_rows = 1000});
  for (size_t i = 0; i < payloads.size(); ++i) {
    Stored s = Encode(enc, payloads[i]);
    ASSERT_EQ(s.codec, kCodecZstd);
    ASSERT_TRUE(d.Add(Meta(static_cast<int64_t>(i)), s.codec, s.bytes).ok());
  }
  EXPECT_TRUE(d.helper_started());
  ASSERT_TRUE(d.Finish().ok());
  EXPECT_EQ(seen, payloads);
}

TEST(OrderedFrameDecoderTest, RawRowsWithNothingWaitingAreHandedOnUncopied) {
  testing::TextLog log;
  const std::string a = log.RandomBytes(1000), b = log.RandomBytes(2000);
  std::vector<const char*> seen;
  OrderedFrameDecoder::Fn fn = [&](const FrameView& f) {
    seen.push_back(f.payload.data());
    return Status::OK();
  };
  OrderedFrameDecoder d(fn, "s1", {.batch_bytes = 1, .batch_rows = 1});
  ASSERT_TRUE(d.Add(Meta(0), kCodecRaw, a).ok());
  ASSERT_TRUE(d.Add(Meta(1), kCodecRaw, b).ok());
  ASSERT_TRUE(d.Finish().ok());
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], a.data());
  EXPECT_EQ(seen[1], b.data());
  EXPECT_FALSE(d.helper_started());
}

TEST(OrderedFrameDecoderTest, ABadRowIsReportedAfterEveryEarlierFrameAndNothingAfter) {
  testing::TextLog log;
  PayloadEncoder enc;
  std::vector<Stored> rows;
  for (int i = 0; i < 60; ++i) {
    rows.push_back(Encode(enc, log.Chunk(8192)));
    ASSERT_EQ(rows.back().codec, kCodecZstd);
  }
  struct Bad {
    const char* name;
    Stored row;
    Status::Code code;
    const char* part;
  };
  // (A changed byte may well decompress: the chain hash, not zstd, catches that.)
  const std::string cut = rows[41].bytes.substr(0, rows[41].bytes.size() - 10);
  const std::vector<Bad> bads = {
      {"cut short", {kCodecZstd, cut}, Status::Code::kCorruption, "decompress"},
      {"not zstd", {kCodecZstd, "hello"}, Status::Code::kCorruption, "not a zstd frame"},
      {"an unknown codec", {9, rows[41].bytes}, Status::Code::kUnsupported, "codec 9"},
  };
  for (const Bad& bad : bads) {
    SCOPED_TRACE(bad.name);
    std::vector<int64_t> seen;
    OrderedFrameDecoder::Fn fn = [&](const FrameView& f) {
      seen.push_back(f.seq);
      return Status::OK();
    };
    OrderedFrameDecoder d(fn, "sess", {.batch_bytes = size_t{1} << 30, .batch_rows = 4});
    Status st;
    for (size_t i = 0; i < rows.size() && st.ok(); ++i) {
      const Stored& r = i == 41 ? bad.row : rows[i];
      st = d.Add(Meta(static_cast<int64_t>(i)), r.codec, r.bytes);
    }
    if (st.ok()) st = d.Finish();
    EXPECT_EQ(st.code(), bad.code) << st.message();
    EXPECT_NE(st.message().find("frame 41 of session sess: "), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(bad.part), std::string::npos) << st.message();
    ASSERT_EQ(seen.size(), 41u);
    for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<int64_t>(i));
  }
}

// Rows as the writer stores a run: the payloads back to back in one buffer, as in its batch.
std::vector<Stored> EncodeAsRun(const std::vector<std::string>& payloads,
                                const std::vector<uint16_t>& streams) {
  std::string arena;
  for (const auto& p : payloads) arena += p;
  std::vector<PayloadEncoder::RunFrame> run;
  size_t offset = 0;
  for (size_t i = 0; i < payloads.size(); ++i) {
    run.push_back({std::string_view(arena).substr(offset, payloads[i].size()), streams[i]});
    offset += payloads[i].size();
  }
  PayloadEncoder enc;
  ByteBuffer out;
  std::vector<PayloadEncoder::Stored> stored(run.size());
  enc.EncodeRun(run, &out, stored);
  std::vector<Stored> rows;
  for (size_t i = 0; i < run.size(); ++i) {
    rows.push_back(
        stored[i].codec == kCodecRaw
            ? Stored{kCodecRaw, payloads[i]}
            : Stored{stored[i].codec, std::string(out.data() + stored[i].offset, stored[i].size)});
  }
  return rows;
}

TEST(OrderedFrameDecoderTest, GroupsComeBackWholeInOrderWhateverTheBatchSize) {
  const std::vector<std::string> payloads = MixedPayloads(400);
  std::vector<uint16_t> streams;
  for (size_t i = 0; i < payloads.size(); ++i) streams.push_back(i % 11 == 10 ? 2 : 1);
  const std::vector<Stored> rows = EncodeAsRun(payloads, streams);
  int heads = 0, members = 0;
  for (const Stored& r : rows) {
    heads += r.codec == kCodecZstdGroup;
    members += r.codec == kCodecInGroup;
  }
  ASSERT_GT(heads, 10);
  ASSERT_GT(members, heads);
  for (size_t batch_rows : {1u, 2u, 16u, 1000u}) {
    SCOPED_TRACE(batch_rows);
    std::vector<int64_t> seqs;
    std::vector<std::string> seen;
    OrderedFrameDecoder::Fn fn = [&](const FrameView& f) {
      seqs.push_back(f.seq);
      seen.emplace_back(f.payload);
      return Status::OK();
    };
    OrderedFrameDecoder d(fn, "s1", {.batch_bytes = 5000, .batch_rows = batch_rows});
    for (size_t i = 0; i < rows.size(); ++i) {
      ASSERT_TRUE(d.Add(Meta(static_cast<int64_t>(i)), rows[i].codec, rows[i].bytes).ok());
    }
    ASSERT_TRUE(d.Finish().ok());
    ASSERT_EQ(seen.size(), payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i) {
      EXPECT_EQ(seqs[i], static_cast<int64_t>(i));
      EXPECT_TRUE(seen[i] == payloads[i]) << i;
    }
  }
}

TEST(OrderedFrameDecoderTest, AGroupCutShortIsReportedAtTheMissingFrame) {
  testing::TextLog log;
  std::vector<std::string> payloads;
  for (int i = 0; i < 5; ++i) payloads.push_back(log.Chunk(20000));  // 0..4: one group
  payloads.push_back("exit\r");                                      // 5: raw, another stream
  const std::vector<Stored> rows = EncodeAsRun(payloads, {1, 1, 1, 1, 1, 0});
  ASSERT_EQ(rows[0].codec, kCodecZstdGroup);
  for (int i = 1; i < 5; ++i) ASSERT_EQ(rows[i].codec, kCodecInGroup);
  ASSERT_EQ(rows[5].codec, kCodecRaw);

  struct Case {
    const char* name;
    std::vector<int64_t> keep;  // the seqs of the rows the reader sees
    std::vector<std::pair<int64_t, Stored>> replace;
    int64_t first_bad;
    const char* part;
  };
  std::string table_sum = rows[0].bytes;
  table_sum[8] ^= 0x01;  // the head's own size: the sizes no longer sum to the content
  const std::vector<Case> cases = {
      {"a member deleted", {0, 1, 3, 4, 5}, {}, 2, "missing from the compressed group of 5"},
      {"the last member deleted", {0, 1, 2, 3, 5}, {}, 4, "starts at frame 0"},
      {"the session ends inside it", {0, 1, 2}, {}, 3, "missing from the compressed group"},
      {"a member turned raw", {0, 1, 2, 3, 4, 5}, {{2, {kCodecRaw, ""}}}, 2, "missing"},
      {"a member with bytes",
       {0, 1, 2, 3, 4, 5},
       {{3, {kCodecInGroup, "x"}}},
       3,
       "bytes of its own"},
      {"the head deleted", {1, 2, 3, 4, 5}, {}, 1, "no group is open"},
      {"the head's sizes",
       {0, 1, 2, 3, 4, 5},
       {{0, {kCodecZstdGroup, table_sum}}},
       0,
       "size table"},
      {"no size table",
       {0, 1, 2, 3, 4, 5},
       {{0, {kCodecZstdGroup, "\x50\x2A\x4D"}}},
       0,
       "does not start with its size table"},
      {"the head as one zstd frame",
       {0, 1, 2, 3, 4, 5},
       {{0, {kCodecZstd, rows[0].bytes}}},
       0,
       "frame 0"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<int64_t> seen;
    OrderedFrameDecoder::Fn fn = [&](const FrameView& f) {
      seen.push_back(f.seq);
      return Status::OK();
    };
    OrderedFrameDecoder d(fn, "sess", {.batch_bytes = 1, .batch_rows = 1});
    Status st;
    for (int64_t seq : c.keep) {
      Stored r = rows[static_cast<size_t>(seq)];
      for (const auto& [at, with] : c.replace) {
        if (at == seq) r = with;
      }
      st = d.Add(Meta(seq), r.codec, r.bytes);
      if (!st.ok()) break;
    }
    if (st.ok()) st = d.Finish();
    EXPECT_EQ(st.code(), Status::Code::kCorruption) << st.message();
    EXPECT_NE(st.message().find(fmt::format("frame {} of session sess: ", c.first_bad)),
              std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find(c.part), std::string::npos) << st.message();
    // Every frame before the bad one, and nothing after it.
    std::vector<int64_t> before;
    for (int64_t seq : c.keep) {
      if (seq < c.first_bad) before.push_back(seq);
    }
    EXPECT_EQ(seen, before);
  }
}

TEST(OrderedFrameDecoderTest, TheCallbacksErrorStopsEverything) {
  testing::TextLog log;
  PayloadEncoder enc;
  int calls = 0;
  OrderedFrameDecoder::Fn fn = [&](const FrameView& f) {
    ++calls;
    return f.seq == 10 ? Status::IOError("disk full") : Status::OK();
  };
  OrderedFrameDecoder d(fn, "s1", {.batch_bytes = size_t{1} << 30, .batch_rows = 3});
  Status st;
  int added = 0;
  for (int i = 0; i < 100 && st.ok(); ++i, ++added) {
    Stored s = Encode(enc, log.Chunk(4096));
    st = d.Add(Meta(i), s.codec, s.bytes);
  }
  if (st.ok()) st = d.Finish();
  EXPECT_EQ(st, Status::IOError("disk full"));
  EXPECT_EQ(calls, 11);
  EXPECT_LT(added, 20);  // the reader stopped within two batches of it
}

}  // namespace
}  // namespace podtape::store
