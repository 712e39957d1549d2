// Reading stored frames back (schema/frame_decoder.h over schema/payload_codec.h): rows as the
// writer encodes a run (raw, zstd, groups), then edited as a hand with the sqlite3 shell could
// edit them, read back with small batches (both threads busy) and with one batch.
//
// Properties: unedited rows read back exactly, whatever the batch size; edited rows read back
// either completely or up to one error, a single line "frame N of session S: ..." after every
// earlier frame in order; both batch sizes give the same frames and the same error.
//
// Input: [batch rows][frame count][one byte per frame: its kind][edits...]. A frame's kind picks
// its stream (channel 1 or 2) and its bytes: a few bytes, repetitive text, noise, or bytes taken
// from the input. Each edit is [op][row][arguments]: delete the row, change a byte, set the codec,
// cut the row short, append bytes.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "fuzz/harness.h"
#include "schema/frame_decoder.h"
#include "schema/payload_codec.h"

namespace podtape::fuzz {
namespace {

using store::FrameView;
using store::OrderedFrameDecoder;
using store::PayloadEncoder;

struct Row {
  int64_t seq;
  uint8_t channel;
  int64_t codec;
  std::string bytes;
};

std::string Payload(uint8_t kind, uint32_t n, ByteReader& in) {
  std::string p;
  uint32_t x = kind * 2654435761u + n;
  switch ((kind >> 1) % 4) {
    case 0:  // a keystroke or a short line: stored raw
      p.assign(kind % 48, 'k');
      break;
    case 1:  // log-like text: compresses
      for (uint32_t i = 0; p.size() < 200 + size_t{kind % 16u} * 500; ++i) {
        p += fmt::format("ts={} level=info msg=\"request {}\" took={}ms\n", 1000 + i, i % 7,
                         (i * 37) % 101);
      }
      break;
    case 2:  // noise: does not compress
      for (uint32_t i = 0; i < 300 + uint32_t{kind % 16u} * 300; ++i) {
        x = x * 1103515245u + 12345u;
        p += static_cast<char>(x >> 24);
      }
      break;
    default:
      p = std::string(in.Take(in.U8() * 8u));
  }
  return p;
}

struct Read {
  std::vector<int64_t> seqs;
  std::vector<std::string> payloads;
  Status status;
};

Read ReadBack(const std::vector<Row>& rows, size_t batch_rows, size_t batch_bytes) {
  Read r;
  OrderedFrameDecoder::Fn fn = [&](const FrameView& f) {
    r.seqs.push_back(f.seq);
    r.payloads.emplace_back(f.payload);
    return Status::OK();
  };
  OrderedFrameDecoder d(fn, "S", {.batch_bytes = batch_bytes, .batch_rows = batch_rows});
  for (const Row& row : rows) {
    FrameView meta{};
    meta.seq = row.seq;
    meta.t_ns = row.seq;
    meta.direction = store::Direction::kFromServer;
    meta.channel = row.channel;
    r.status = d.Add(meta, row.codec, row.bytes);
    if (!r.status.ok()) return r;
  }
  r.status = d.Finish();
  return r;
}

}  // namespace

std::string FuzzStoredRows(Input data) {
  ByteReader in(data);
  const size_t batch_rows = 1 + in.U8() % 8;
  const size_t n = 1 + in.U8() % 24;
  std::vector<uint8_t> kinds;
  for (size_t i = 0; i < n; ++i) kinds.push_back(in.U8());
  std::vector<std::string> payloads;
  for (size_t i = 0; i < n; ++i)
    payloads.push_back(Payload(kinds[i], static_cast<uint32_t>(i), in));

  // Encoded as the writer does: one run, payloads back to back.
  std::string arena;
  for (const std::string& p : payloads) arena += p;
  std::vector<PayloadEncoder::RunFrame> run;
  for (size_t i = 0, at = 0; i < n; at += payloads[i].size(), ++i) {
    run.push_back({std::string_view(arena).substr(at, payloads[i].size()),
                   static_cast<uint16_t>(1 + (kinds[i] & 1))});
  }
  PayloadEncoder enc;
  store::ByteBuffer out;
  std::vector<PayloadEncoder::Stored> stored(n);
  enc.EncodeRun(run, &out, stored);
  std::vector<Row> rows;
  for (size_t i = 0; i < n; ++i) {
    const auto& s = stored[i];
    rows.push_back(
        {static_cast<int64_t>(i), static_cast<uint8_t>(1 + (kinds[i] & 1)), s.codec,
         s.codec == store::kCodecRaw ? payloads[i] : std::string(out.data() + s.offset, s.size)});
  }

  bool edited = false;
  while (!in.empty() && !rows.empty()) {
    const uint8_t op = in.U8() % 5;
    const size_t at = in.U8() % rows.size();
    std::string& b = rows[at].bytes;
    edited = true;
    switch (op) {
      case 0:
        rows.erase(rows.begin() + static_cast<ptrdiff_t>(at));
        break;
      case 1: {
        const size_t pos = in.U16();
        const uint8_t x = in.U8() | 1;
        if (!b.empty()) b[pos % b.size()] = static_cast<char>(b[pos % b.size()] ^ x);
        break;
      }
      case 2:
        rows[at].codec = in.U8() % 6;
        break;
      case 3:
        b.resize(std::min<size_t>(b.size(), in.U16()));
        break;
      default:
        b.append(in.Take(in.U8() % 16));
    }
  }

  const Read small = ReadBack(rows, batch_rows, 4096);
  const Read one = ReadBack(rows, size_t{1} << 20, size_t{1} << 30);
  if (small.status.message() != one.status.message() || small.seqs != one.seqs ||
      small.payloads != one.payloads) {
    return fmt::format("batch sizes disagree: {} frames, \"{}\" against {} frames, \"{}\"",
                       small.seqs.size(), small.status.message(), one.seqs.size(),
                       one.status.message());
  }
  // Delivered frames are the rows' first ones, in order.
  for (size_t i = 0; i < one.seqs.size(); ++i) {
    if (i >= rows.size() || one.seqs[i] != rows[i].seq)
      return fmt::format("frame {} out of order", i);
  }
  if (one.status.ok()) {
    if (one.seqs.size() != rows.size()) return "read OK but frames are missing";
  } else {
    const auto code = one.status.code();
    if (code != Status::Code::kCorruption && code != Status::Code::kUnsupported) {
      return "an error that is neither Corruption nor Unsupported: " + one.status.message();
    }
    const std::string& msg = one.status.message();
    if (msg.rfind("frame ", 0) != 0 || msg.find(" of session S: ") == std::string::npos ||
        msg.find('\n') != std::string::npos) {
      return "an error not naming its frame on one line: " + msg;
    }
  }
  if (!edited) {
    if (!one.status.ok()) return "unedited rows did not read back: " + one.status.message();
    if (one.payloads != payloads) return "unedited rows read back different bytes";
  }
  return "";
}

}  // namespace podtape::fuzz

PODTAPE_FUZZ_TARGET(podtape::fuzz::FuzzStoredRows)
