// How a frame's payload is stored (frames.codec; schema/README.md "Payload codecs"): codec 0 is the
// logical bytes as they are, codec 1 one zstd frame (RFC 8878, content size in its header, no
// dictionary) that decompresses to them, codec 2 the head of a group of consecutive frames of one
// stream compressed together (a zstd skippable frame listing the group's logical sizes, then one
// zstd frame of their bytes back to back), codec 3 a later frame of such a group (no bytes of its
// own). Internal to schema/ (the writer encodes, ReadFrames decodes); zstd's header stays in
// payload_codec.cc.
#ifndef PODTAPE_SCHEMA_PAYLOAD_CODEC_H_
#define PODTAPE_SCHEMA_PAYLOAD_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "schema/status.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace podtape::store {

inline constexpr int kCodecRaw = 0;
inline constexpr int kCodecZstd = 1;
inline constexpr int kCodecZstdGroup = 2;
inline constexpr int kCodecInGroup = 3;
// Payloads shorter than this are stored raw: a zstd frame's own header and block header (~9
// bytes) leave too little to win, and TTY keystrokes and echoes are mostly this small.
inline constexpr size_t kMinCompressBytes = 64;
// The largest logical payload stored compressed (the recorders' WebSocket message limit). A
// codec-1 row that declares more is corrupt: a reader never allocates beyond this per frame.
inline constexpr size_t kMaxCompressBytes = size_t{64} << 20;
// zstd level used for frames: level 1 is the fastest that brings log-like text under 0.3 of its
// size in 32 KiB frames; negative levels are faster but lose a third of the gain.
inline constexpr int kZstdLevel = 1;
// A group holds at most this many logical bytes: zstd at level 1 compresses and decompresses
// log-like text about a fifth faster in 256 KiB frames than in 32 KiB ones (and stores 8% less),
// while larger frames gain nothing more. A frame of this size or more is compressed alone.
inline constexpr size_t kGroupBytes = size_t{256} << 10;
// ... and at most this many frames (so its size table stays small).
inline constexpr size_t kMaxGroupFrames = 1024;
// The magic number of the zstd skippable frame that opens a group head (RFC 8878 3.1.2: zstd
// and `zstd -d` skip it), little-endian on disk like the rest of the head.
inline constexpr uint32_t kGroupTableMagic = 0x184D2A50;

// Growable bytes that, unlike std::string, never zero-fill what they are about to overwrite.
class ByteBuffer {
 public:
  // Room for `n` more bytes after size(), growing (and keeping the contents) when needed.
  char* Reserve(size_t n);
  void Commit(size_t n) { size_ += n; }  // after writing n bytes at Reserve's pointer
  void Clear() { size_ = 0; }            // keeps the memory for the next use
  size_t size() const { return size_; }
  const char* data() const { return data_.get(); }
  char* data() { return data_.get(); }

 private:
  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Chooses and applies a frame's codec. One per writer thread; not thread-safe. Reuses one zstd
// context; holds no payload between calls.
class PayloadEncoder {
 public:
  PayloadEncoder();
  ~PayloadEncoder();
  PayloadEncoder(const PayloadEncoder&) = delete;
  PayloadEncoder& operator=(const PayloadEncoder&) = delete;

  // Encodes `payload`, appending the stored bytes to `*out` when it returns kCodecZstd; returns
  // kCodecRaw (and leaves `*out`'s size as it was) when compression would not save at least 1/32 of
  // the payload, when the payload is outside [kMinCompressBytes, kMaxCompressBytes], or while
  // backing off after incompressible frames: after a frame that did not compress the next 1, 2, 4
  // ... 64 frames of at least kMinCompressBytes are stored raw untried, so a stream of random bytes
  // costs about 1/64 of a compression attempt per frame; a frame that compresses resets the
  // back-off.
  int Encode(std::string_view payload, ByteBuffer* out);

  // One frame of a run of consecutive frames (in seq order) for EncodeRun.
  struct RunFrame {
    std::string_view payload;
    uint16_t stream;  // frames are grouped only with neighbours of the same stream
  };
  // How EncodeRun stored one frame: for kCodecZstd and kCodecZstdGroup, `size` bytes at `offset`
  // in `*out`; kCodecRaw the payload itself; kCodecInGroup nothing (its head holds its bytes).
  struct Stored {
    int codec = kCodecRaw;
    size_t offset = 0;
    size_t size = 0;
  };
  // Encodes a run, filling results[i] for frames[i]. Neighbours of one stream whose payloads lie
  // back to back in memory, each of at least kMinCompressBytes, are compressed together while
  // their sum stays within kGroupBytes (and kMaxGroupFrames): the first frame becomes the group's
  // head, the others kCodecInGroup. A group is only formed while the last attempt compressed:
  // while backing off, frames are tried one at a time as Encode does, so random bytes cost no
  // more than they did. A group that does not save 1/32 (its size table included) is stored raw,
  // every frame of it, and counts as one failure for the back-off.
  void EncodeRun(std::span<const RunFrame> frames, ByteBuffer* out, std::span<Stored> results);

 private:
  // Compresses frames (at least two, back to back in memory) as one group head; kCodecRaw when
  // it does not pay.
  int EncodeGroup(std::span<const RunFrame> group, ByteBuffer* out);
  void Failed();

  ZSTD_CCtx_s* cctx_;
  int backoff_ = 0;  // frames skipped after the next failure
  int skip_ = 0;     // frames still to store raw untried
};

// Turns stored rows back into logical payloads. One per reading thread; not thread-safe.
class PayloadDecoder {
 public:
  PayloadDecoder();
  ~PayloadDecoder();
  PayloadDecoder(const PayloadDecoder&) = delete;
  PayloadDecoder& operator=(const PayloadDecoder&) = delete;

  // The logical size a row stored with `codec` declares: its stored size for kCodecRaw, the
  // zstd frame header's content size for kCodecZstd. Corruption (naming neither frame nor
  // session: callers add that) for a header without a size or with more than kMaxCompressBytes;
  // Unsupported for an unknown codec. Grouped rows are sized by their head (ParseGroupHead):
  // InvalidArgument for kCodecZstdGroup and kCodecInGroup.
  static Result<size_t> DecodedSize(int64_t codec, std::string_view stored);
  // Decompresses one zstd frame (a kCodecZstd row, or a group head's GroupHead::frame) into
  // exactly `size` bytes at `dst`; Corruption when it does not decode to exactly that.
  Status DecompressInto(std::string_view stored, char* dst, size_t size);

  // A kCodecZstdGroup row, parsed and checked: at least two sizes that sum to the content size of
  // a zstd frame that follows the table, at most kMaxGroupFrames sizes and kMaxCompressBytes in
  // all. Views into the row's stored bytes.
  struct GroupHead {
    std::string_view table;  // `count` little-endian uint32 logical sizes, head first
    std::string_view frame;  // the zstd frame of the group's bytes
    size_t count = 0;
    size_t total = 0;  // logical bytes of the whole group
    size_t SizeOf(size_t i) const;
  };
  // Corruption (naming neither frame nor session) for anything else.
  static Result<GroupHead> ParseGroupHead(std::string_view stored);
  // Size i of a group's table at `table` (GroupHead::table's bytes, or a copy of them).
  static size_t TableSize(const char* table, size_t i);

 private:
  ZSTD_DCtx_s* dctx_;
};

}  // namespace podtape::store

#endif  // PODTAPE_SCHEMA_PAYLOAD_CODEC_H_
