#include "schema/payload_codec.h"

#include <fmt/format.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace podtape::store {

char* ByteBuffer::Reserve(size_t n) {
  if (capacity_ - size_ < n) {
    size_t capacity = std::max(size_ + n, capacity_ + capacity_ / 2);
    std::unique_ptr<char[]> grown(new char[capacity]);
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    capacity_ = capacity;
  }
  return data_.get() + size_;
}

PayloadEncoder::PayloadEncoder() : cctx_(ZSTD_createCCtx()) {
  if (cctx_ == nullptr) throw std::bad_alloc();
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, kZstdLevel);
  // The content size goes in the frame header (readers size their buffer from it, and
  // `zstd -d` needs nothing else); no checksum: the chain hash covers the logical bytes.
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_contentSizeFlag, 1);
  ZSTD_CCtx_setParameter(cctx_, ZSTD_c_checksumFlag, 0);
}

PayloadEncoder::~PayloadEncoder() { ZSTD_freeCCtx(cctx_); }

namespace {

void PutLe32(char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint32_t GetLe32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

bool Compressible(std::string_view payload) {
  return payload.size() >= kMinCompressBytes && payload.size() <= kMaxCompressBytes;
}

}  // namespace

void PayloadEncoder::Failed() {
  backoff_ = std::min(backoff_ == 0 ? 1 : backoff_ * 2, 64);
  skip_ = backoff_;
}

int PayloadEncoder::Encode(std::string_view payload, ByteBuffer* out) {
  const size_t n = payload.size();
  if (!Compressible(payload)) return kCodecRaw;
  if (skip_ > 0) {
    --skip_;
    return kCodecRaw;
  }
  // Worth storing only when it saves at least 1/32: the rest is not worth a reader's time.
  const size_t limit = n - n / 32;
  char* dst = out->Reserve(limit);
  // A destination smaller than the bound makes zstd stop (dstSize_tooSmall) as soon as the
  // frame cannot fit: an incompressible payload is given up on early.
  size_t r = ZSTD_compress2(cctx_, dst, limit, payload.data(), n);
  if (ZSTD_isError(r) || r >= limit) {
    Failed();
    return kCodecRaw;
  }
  backoff_ = 0;
  out->Commit(r);
  return kCodecZstd;
}

int PayloadEncoder::EncodeGroup(std::span<const RunFrame> group, ByteBuffer* out) {
  size_t total = 0;
  for (const RunFrame& f : group) total += f.payload.size();
  const size_t table = 8 + 4 * group.size();
  const size_t limit = total - total / 32;
  if (table >= limit) return kCodecRaw;  // unreachable for frames of kMinCompressBytes or more
  char* dst = out->Reserve(limit);
  PutLe32(dst, kGroupTableMagic);
  PutLe32(dst + 4, static_cast<uint32_t>(4 * group.size()));
  for (size_t i = 0; i < group.size(); ++i) {
    PutLe32(dst + 8 + 4 * i, static_cast<uint32_t>(group[i].payload.size()));
  }
  size_t r = ZSTD_compress2(cctx_, dst + table, limit - table, group.front().payload.data(), total);
  if (ZSTD_isError(r) || table + r >= limit) {
    Failed();
    return kCodecRaw;
  }
  backoff_ = 0;
  out->Commit(table + r);
  return kCodecZstdGroup;
}

void PayloadEncoder::EncodeRun(std::span<const RunFrame> frames, ByteBuffer* out,
                               std::span<Stored> results) {
  for (size_t i = 0; i < frames.size();) {
    size_t end = i + 1;
    if (backoff_ == 0 && Compressible(frames[i].payload)) {
      size_t total = frames[i].payload.size();
      while (end < frames.size() && end - i < kMaxGroupFrames) {
        const RunFrame& prev = frames[end - 1];
        const RunFrame& next = frames[end];
        if (next.stream != prev.stream || !Compressible(next.payload) ||
            next.payload.data() != prev.payload.data() + prev.payload.size() ||
            total + next.payload.size() > kGroupBytes) {
          break;
        }
        total += next.payload.size();
        ++end;
      }
    }
    const size_t before = out->size();
    if (end == i + 1) {
      const int codec = Encode(frames[i].payload, out);
      results[i] = {codec, before, out->size() - before};
      ++i;
      continue;
    }
    const int codec = EncodeGroup(frames.subspan(i, end - i), out);
    for (size_t k = i; k < end; ++k) {
      results[k] = codec == kCodecRaw ? Stored{}
                   : k == i           ? Stored{codec, before, out->size() - before}
                                      : Stored{kCodecInGroup, 0, 0};
    }
    i = end;
  }
}

PayloadDecoder::PayloadDecoder() : dctx_(ZSTD_createDCtx()) {
  if (dctx_ == nullptr) throw std::bad_alloc();
}

PayloadDecoder::~PayloadDecoder() { ZSTD_freeDCtx(dctx_); }

Result<size_t> PayloadDecoder::DecodedSize(int64_t codec, std::string_view stored) {
  if (codec == kCodecRaw) return stored.size();
  if (codec == kCodecZstdGroup || codec == kCodecInGroup) {
    return Status::InvalidArgument("a grouped row is sized by its group's head");
  }
  if (codec != kCodecZstd) {
    return Status::Unsupported(
        fmt::format("its payload codec {} is unknown to this podtape; upgrade podtape", codec));
  }
  unsigned long long size = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Status::Corruption("its compressed payload is not a zstd frame with a size");
  }
  if (size > kMaxCompressBytes) {
    return Status::Corruption(
        fmt::format("its compressed payload claims {} bytes, more than any frame holds", size));
  }
  return static_cast<size_t>(size);
}

Status PayloadDecoder::DecompressInto(std::string_view stored, char* dst, size_t size) {
  size_t r = ZSTD_decompressDCtx(dctx_, dst, size, stored.data(), stored.size());
  if (ZSTD_isError(r)) {
    return Status::Corruption(
        fmt::format("its compressed payload does not decompress ({})", ZSTD_getErrorName(r)));
  }
  if (r != size) {
    return Status::Corruption(fmt::format(
        "its compressed payload decompresses to {} bytes, not the {} its header says", r, size));
  }
  return Status::OK();
}

size_t PayloadDecoder::TableSize(const char* table, size_t i) { return GetLe32(table + 4 * i); }

size_t PayloadDecoder::GroupHead::SizeOf(size_t i) const { return TableSize(table.data(), i); }

Result<PayloadDecoder::GroupHead> PayloadDecoder::ParseGroupHead(std::string_view stored) {
  if (stored.size() < 8 || GetLe32(stored.data()) != kGroupTableMagic) {
    return Status::Corruption("its compressed group does not start with its size table");
  }
  const size_t table_bytes = GetLe32(stored.data() + 4);
  if (table_bytes % 4 != 0 || table_bytes < 8 || table_bytes > 4 * kMaxGroupFrames ||
      table_bytes > stored.size() - 8) {
    return Status::Corruption(
        fmt::format("its compressed group's size table is malformed ({} bytes)", table_bytes));
  }
  GroupHead head;
  head.table = stored.substr(8, table_bytes);
  head.frame = stored.substr(8 + table_bytes);
  head.count = table_bytes / 4;
  for (size_t i = 0; i < head.count; ++i) {
    head.total += head.SizeOf(i);  // at most 1024 * 4 GiB: no overflow in size_t
  }
  Result<size_t> content = DecodedSize(kCodecZstd, head.frame);
  if (!content.ok()) return content.status();
  if (*content != head.total) {
    return Status::Corruption(fmt::format(
        "its compressed group holds {} bytes but its size table says {}", *content, head.total));
  }
  return head;
}

}  // namespace podtape::store
