#include "schema/frame_decoder.h"

#include <fmt/format.h>

#include <cstring>

namespace podtape::store {

void OrderedFrameDecoder::Batch::Reset() {
  rows.clear();
  work.clear();
  in.Clear();
  out.Clear();
  out_size = 0;
  logical = 0;
  claimed = 0;
  done = 0;
}

OrderedFrameDecoder::OrderedFrameDecoder(const Fn& fn, std::string_view session_id, Limits limits)
    : fn_(fn), session_id_(session_id), limits_(limits), filling_(&slots_[0]) {}

OrderedFrameDecoder::~OrderedFrameDecoder() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (helper_.joinable()) helper_.join();
}

Status OrderedFrameDecoder::Add(const FrameView& meta, int64_t codec, std::string_view stored) {
  const bool nothing_waiting = filling_->rows.empty() && published_.empty();
  if (codec == kCodecRaw && nothing_waiting) {
    FrameView f = meta;
    f.payload = stored;
    return fn_(f);
  }
  Batch& b = *filling_;
  Row row{.meta = meta,
          .in_offset = b.in.size(),
          .in_size = stored.size(),
          .out_offset = 0,
          .out_size = 0,
          .compressed = codec == kCodecZstd,
          .error = Status::OK()};
  Result<size_t> size = PayloadDecoder::DecodedSize(codec, stored);
  if (!size.ok()) {
    row.compressed = false;  // delivered as the error it is, never decoded
    row.error = size.status();
  } else if (row.compressed) {
    row.out_offset = b.out_size;
    row.out_size = *size;
    b.out_size += *size;
    b.work.push_back(b.rows.size());
  }
  if (!stored.empty()) {
    std::memcpy(b.in.Reserve(stored.size()), stored.data(), stored.size());
    b.in.Commit(stored.size());
  }
  b.logical += size.ok() ? *size : 0;
  b.rows.push_back(std::move(row));
  if (b.logical < limits_.batch_bytes && b.rows.size() < limits_.batch_rows) return Status::OK();

  // A full batch: decoded from now on by the helper while the next one is read. With two
  // batches out, the older one is finished and handed on first, freeing its slot.
  Publish(filling_);
  if (!helper_.joinable() && !b.work.empty()) helper_ = std::thread([this] { HelperLoop(); });
  if (published_.size() == 2) PODTAPE_RETURN_IF_ERROR(DeliverOldest());
  filling_ = FreeSlot();
  return Status::OK();
}

Status OrderedFrameDecoder::Finish() {
  if (!filling_->rows.empty()) {
    Publish(filling_);
    filling_ = FreeSlot();
  }
  while (!published_.empty()) PODTAPE_RETURN_IF_ERROR(DeliverOldest());
  return Status::OK();
}

void OrderedFrameDecoder::Publish(Batch* b) {
  if (!b->work.empty()) b->out.Reserve(b->out_size);  // placed once: rows decode into it
  {
    std::lock_guard lock(mu_);
    published_.push_back(b);
  }
  if (!b->work.empty()) work_cv_.notify_one();
}

OrderedFrameDecoder::Batch* OrderedFrameDecoder::FreeSlot() {
  for (Batch& s : slots_) {
    bool used = &s == filling_;
    for (const Batch* p : published_) used = used || p == &s;
    if (!used) {
      s.Reset();
      return &s;
    }
  }
  return nullptr;  // unreachable: at most two batches are published while one is filled
}

bool OrderedFrameDecoder::ClaimLocked(Batch** b, size_t* row) {
  for (Batch* p : published_) {
    if (p->claimed < p->work.size()) {
      *b = p;
      *row = p->work[p->claimed++];
      return true;
    }
  }
  return false;
}

void OrderedFrameDecoder::Decode(PayloadDecoder& decoder, Batch& b, size_t row) {
  Row& r = b.rows[row];
  r.error = decoder.DecompressInto(std::string_view(b.in.data() + r.in_offset, r.in_size),
                                   b.out.data() + r.out_offset, r.out_size);
}

void OrderedFrameDecoder::HelperLoop() {
  PayloadDecoder decoder;
  std::unique_lock lock(mu_);
  for (;;) {
    Batch* b = nullptr;
    size_t row = 0;
    work_cv_.wait(lock, [&] { return stop_ || ClaimLocked(&b, &row); });
    if (stop_) return;
    lock.unlock();
    Decode(decoder, *b, row);
    lock.lock();
    if (++b->done == b->work.size()) done_cv_.notify_one();
  }
}

Status OrderedFrameDecoder::DeliverOldest() {
  Batch* b = published_.front();  // only this thread changes published_
  {
    std::unique_lock lock(mu_);
    while (b->claimed < b->work.size()) {
      const size_t row = b->work[b->claimed++];
      lock.unlock();
      Decode(decoder_, *b, row);
      lock.lock();
      ++b->done;
    }
    done_cv_.wait(lock, [&] { return b->done == b->work.size(); });
    published_.pop_front();
  }
  for (Row& r : b->rows) {
    if (!r.error.ok()) {
      return r.error.WithContext(fmt::format("frame {} of session {}", r.meta.seq, session_id_));
    }
    r.meta.payload = r.compressed ? std::string_view(b->out.data() + r.out_offset, r.out_size)
                                  : std::string_view(b->in.data() + r.in_offset, r.in_size);
    PODTAPE_RETURN_IF_ERROR(fn_(r.meta));
  }
  return Status::OK();
}

}  // namespace podtape::store
