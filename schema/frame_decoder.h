// Turns a session's stored rows, read in seq order, back into FrameViews, with the zstd
// decompression spread over the reading thread and one helper thread. Internal to schema/
// (Store::ReadFrames feeds it).
//
// Rows are gathered into batches (about kBatchBytes logical bytes each). The helper decompresses
// a batch while the reader reads the next one from SQLite; the reader then decompresses whatever
// of the older batch the helper has not claimed, and hands its frames to `fn` in seq order.
//
// Contracts:
// - Threads: Add and Finish are called by one thread, the only one that ever calls `fn`. The
//   helper starts at the first full batch that holds a compressed row (a short session never
//   starts it) and is joined by the destructor.
// - Groups (kCodecZstdGroup and the kCodecInGroup rows after it) are never split between
//   batches: the head's zstd frame is one work item decoding the whole group, and every frame of
//   the group is delivered as its slice of that.
// - Memory: at most three batches (the one being read, two being decoded), each holding its rows'
//   stored and logical bytes; a batch holds at least one row or group, so one frame or group
//   larger than a batch is held alone. Constant in session length.
// - Errors: a row that cannot be decoded is reported as Corruption or Unsupported "frame SEQ of
//   session ID: ...", after every earlier frame was handed to `fn`, exactly as a serial reader
//   would. A group cut short (a frame of it missing or not marked as in it) names the frame that
//   should have been next. The first non-OK status of `fn` stops everything and is returned.
// - A raw row read while nothing is waiting to be delivered goes to `fn` straight from `stored`,
//   uncopied: a session of incompressible bytes is read with no copy and no helper.
#ifndef PODTAPE_SCHEMA_FRAME_DECODER_H_
#define PODTAPE_SCHEMA_FRAME_DECODER_H_

#include <array>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "schema/payload_codec.h"
#include "schema/status.h"
#include "schema/store.h"

namespace podtape::store {

class OrderedFrameDecoder {
 public:
  using Fn = std::function<Status(const FrameView&)>;
  struct Limits {
    size_t batch_bytes = size_t{1} << 20;  // logical bytes that close a batch
    size_t batch_rows = 512;               // rows that close a batch
  };

  // `fn` and `session_id` must outlive the decoder.
  OrderedFrameDecoder(const Fn& fn, std::string_view session_id, Limits limits);
  OrderedFrameDecoder(const Fn& fn, std::string_view session_id)
      : OrderedFrameDecoder(fn, session_id, Limits{}) {}
  ~OrderedFrameDecoder();
  OrderedFrameDecoder(const OrderedFrameDecoder&) = delete;
  OrderedFrameDecoder& operator=(const OrderedFrameDecoder&) = delete;

  // One row in seq order: `meta` without its payload, the row's codec and stored bytes (read
  // only during the call). Returns the first error of an earlier row or of `fn`; the caller
  // then stops.
  Status Add(const FrameView& meta, int64_t codec, std::string_view stored);
  // Hands every row added so far to `fn`; the first error.
  Status Finish();

  bool helper_started() const { return helper_.joinable(); }  // for tests

 private:
  struct Row {
    FrameView meta;               // payload set on delivery
    size_t in_offset, in_size;    // stored bytes in `in` (a group head's: its zstd frame)
    size_t out_offset, out_size;  // logical bytes in `out` (when from_out)
    size_t decode_size;           // work rows: bytes their zstd frame decodes to at out_offset
    bool from_out;                // decoded or grouped rows; raw rows deliver from `in`
    int64_t error_seq;            // the frame `error` names
    Status error;                 // set by whichever thread decodes the row
  };
  // The group whose head was added and whose later frames are still expected.
  struct OpenGroup {
    int64_t head_seq;
    size_t count;
    size_t next;          // index in the group of the next frame expected
    size_t table_offset;  // of the head's size table, in the filling batch's `in`
    size_t next_out;      // where that frame's bytes start in the batch's `out`
  };
  // Corruption for the frame that should have come next in the open group, which it closes.
  Row GroupCutShort(const FrameView& meta);
  struct Batch {
    std::vector<Row> rows;
    std::vector<size_t> work;  // indexes of the compressed rows
    ByteBuffer in;             // stored bytes of every row, copied from SQLite
    ByteBuffer out;            // logical bytes of the compressed rows
    size_t out_size = 0;
    size_t logical = 0;
    // Guarded by mu_ once published:
    size_t claimed = 0;  // work items taken by a thread
    size_t done = 0;     // work items decoded
    void Reset();
  };

  void Publish(Batch* b);
  Status DeliverOldest();  // decodes what is left of the oldest published batch, then hands it on
  // Takes the next undecoded work item of the oldest published batch that has one; mu_ held.
  bool ClaimLocked(Batch** b, size_t* row);
  void Decode(PayloadDecoder& decoder, Batch& b, size_t row);
  void HelperLoop();
  Batch* FreeSlot();

  const Fn& fn_;
  std::string_view session_id_;
  Limits limits_;
  std::array<Batch, 3> slots_;
  Batch* filling_;
  PayloadDecoder decoder_;  // the reading thread's
  std::optional<OpenGroup> group_;

  std::mutex mu_;
  std::condition_variable work_cv_;  // the helper waits for a claimable row or stop_
  std::condition_variable done_cv_;  // the reader waits for a batch's last row
  std::deque<Batch*> published_;     // oldest first; guarded by mu_
  bool stop_ = false;                // guarded by mu_
  std::thread helper_;
};

}  // namespace podtape::store

#endif  // PODTAPE_SCHEMA_FRAME_DECODER_H_
