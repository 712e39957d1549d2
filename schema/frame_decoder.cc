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

OrderedFrameDecoder::Row OrderedFrameDecoder::GroupCutShort(const FrameView& meta) {
  const OpenGroup g = *group_;
  group_.reset();
  return Row{.meta = meta,
             .in_offset = 0,
             .in_size = 0,
             .out_offset = 0,
             .out_size = 0,
             .decode_size = 0,
             .from_out = false,
             .error_seq = g.head_seq + static_cast<int64_t>(g.next),
             .error = Status::Corruption(fmt::format(
                 "missing from the compressed group of {} frames that starts at frame {}", g.count,
                 g.head_seq))};
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
          .decode_size = 0,
          .from_out = false,
          .error_seq = meta.seq,
          .error = Status::OK()};
  size_t logical = 0;
  if (group_ && codec == kCodecInGroup &&
      meta.seq == group_->head_seq + static_cast<int64_t>(group_->next)) {
    if (!stored.empty()) {
      group_.reset();
      row.error = Status::Corruption("a frame of a compressed group holds bytes of its own");
    } else {
      // The head's size table was copied into this batch's `in`: read the size from there.
      row.from_out = true;
      row.out_offset = group_->next_out;
      row.out_size = PayloadDecoder::TableSize(b.in.data() + group_->table_offset, group_->next);
      group_->next_out += row.out_size;
      if (++group_->next == group_->count) group_.reset();
    }
  } else if (group_) {
    row = GroupCutShort(meta);  // this row is not delivered: the error before it stops the read
  } else if (codec == kCodecInGroup) {
    row.error = Status::Corruption("it is marked as in a compressed group, but no group is open");
  } else if (codec == kCodecZstdGroup) {
    Result<PayloadDecoder::GroupHead> head = PayloadDecoder::ParseGroupHead(stored);
    if (!head.ok()) {
      row.error = head.status();
    } else {
      row.in_offset = b.in.size() + static_cast<size_t>(head->frame.data() - stored.data());
      row.in_size = head->frame.size();
      row.from_out = true;
      row.out_offset = b.out_size;
      row.out_size = head->SizeOf(0);
      row.decode_size = head->total;
      b.out_size += head->total;
      b.work.push_back(b.rows.size());
      logical = head->total;
      group_ = OpenGroup{.head_seq = meta.seq,
                         .count = head->count,
                         .next = 1,
                         .table_offset = b.in.size() + 8,
                         .next_out = row.out_offset + row.out_size};
    }
  } else {
    Result<size_t> size = PayloadDecoder::DecodedSize(codec, stored);
    if (!size.ok()) {
      row.error = size.status();  // delivered as the error it is, never decoded
    } else if (codec == kCodecZstd) {
      row.from_out = true;
      row.out_offset = b.out_size;
      row.out_size = row.decode_size = *size;
      b.out_size += *size;
      b.work.push_back(b.rows.size());
      logical = *size;
    } else {
      logical = *size;
    }
  }
  if (!stored.empty()) {
    std::memcpy(b.in.Reserve(stored.size()), stored.data(), stored.size());
    b.in.Commit(stored.size());
  }
  b.logical += logical;
  b.rows.push_back(std::move(row));
  if (group_ || (b.logical < limits_.batch_bytes && b.rows.size() < limits_.batch_rows)) {
    return Status::OK();  // (a group's frames stay in the batch of its head)
  }

  // A full batch: decoded from now on by the helper while the next one is read. With two
  // batches out, the older one is finished and handed on first, freeing its slot.
  Publish(filling_);
  if (!helper_.joinable() && !b.work.empty()) helper_ = std::thread([this] { HelperLoop(); });
  if (published_.size() == 2) PODTAPE_RETURN_IF_ERROR(DeliverOldest());
  filling_ = FreeSlot();
  return Status::OK();
}

Status OrderedFrameDecoder::Finish() {
  if (group_) {
    // The session ends inside a group: reported once the frames before are delivered.
    FrameView none;
    none.seq = group_->head_seq + static_cast<int64_t>(group_->next);
    filling_->rows.push_back(GroupCutShort(none));
  }
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
                                   b.out.data() + r.out_offset, r.decode_size);
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
    // Until the oldest batch is decoded, this thread decodes too: its items first, then, while
    // the helper finishes the last of them, the next batch's (a group's item is 256 KiB: waiting
    // idle for it at every batch would cost a tenth of the wall time).
    std::unique_lock lock(mu_);
    while (b->done < b->work.size()) {
      Batch* c = nullptr;
      size_t row = 0;
      if (!ClaimLocked(&c, &row)) {
        done_cv_.wait(lock);
        continue;
      }
      lock.unlock();
      Decode(decoder_, *c, row);
      lock.lock();
      ++c->done;
    }
    published_.pop_front();
  }
  for (Row& r : b->rows) {
    if (!r.error.ok()) {
      return r.error.WithContext(fmt::format("frame {} of session {}", r.error_seq, session_id_));
    }
    r.meta.payload = r.from_out ? std::string_view(b->out.data() + r.out_offset, r.out_size)
                                : std::string_view(b->in.data() + r.in_offset, r.in_size);
    PODTAPE_RETURN_IF_ERROR(fn_(r.meta));
  }
  return Status::OK();
}

}  // namespace podtape::store
