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

int PayloadEncoder::Encode(std::string_view payload, ByteBuffer* out) {
  const size_t n = payload.size();
  if (n < kMinCompressBytes || n > kMaxCompressBytes) return kCodecRaw;
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
    backoff_ = std::min(backoff_ == 0 ? 1 : backoff_ * 2, 64);
    skip_ = backoff_;
    return kCodecRaw;
  }
  backoff_ = 0;
  out->Commit(r);
  return kCodecZstd;
}

PayloadDecoder::PayloadDecoder() : dctx_(ZSTD_createDCtx()) {
  if (dctx_ == nullptr) throw std::bad_alloc();
}

PayloadDecoder::~PayloadDecoder() { ZSTD_freeDCtx(dctx_); }

Result<size_t> PayloadDecoder::DecodedSize(int64_t codec, std::string_view stored) {
  if (codec == kCodecRaw) return stored.size();
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

}  // namespace podtape::store
