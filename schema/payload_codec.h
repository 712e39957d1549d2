// How a frame's payload is stored (frames.codec; schema/README.md "Payload codecs"): codec 0 is the
// logical bytes as they are, codec 1 one zstd frame (RFC 8878, content size in its header, no
// dictionary) that decompresses to them. Internal to schema/ (the writer encodes, ReadFrames
// decodes); zstd's header stays in payload_codec.cc.
#ifndef PODTAPE_SCHEMA_PAYLOAD_CODEC_H_
#define PODTAPE_SCHEMA_PAYLOAD_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "schema/status.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;

namespace podtape::store {

inline constexpr int kCodecRaw = 0;
inline constexpr int kCodecZstd = 1;
// Payloads shorter than this are stored raw: a zstd frame's own header and block header (~9
// bytes) leave too little to win, and TTY keystrokes and echoes are mostly this small.
inline constexpr size_t kMinCompressBytes = 64;
// The largest logical payload stored compressed (the recorders' WebSocket message limit). A
// codec-1 row that declares more is corrupt: a reader never allocates beyond this per frame.
inline constexpr size_t kMaxCompressBytes = size_t{64} << 20;
// zstd level used for frames: level 1 is the fastest that brings log-like text under 0.3 of its
// size in 32 KiB frames; negative levels are faster but lose a third of the gain.
inline constexpr int kZstdLevel = 1;

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

 private:
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
  // Unsupported for an unknown codec.
  static Result<size_t> DecodedSize(int64_t codec, std::string_view stored);
  // Decompresses a kCodecZstd row into exactly `size` bytes (its DecodedSize) at `dst`;
  // Corruption when it does not decode to exactly that.
  Status DecompressInto(std::string_view stored, char* dst, size_t size);

 private:
  ZSTD_DCtx_s* dctx_;
};

}  // namespace podtape::store

#endif  // PODTAPE_SCHEMA_PAYLOAD_CODEC_H_
