// Recomputing a session's hash chain and seal from stored rows (schema/README.md).
#include <fmt/format.h>

#include "schema/store.h"

namespace podtape::store {

Result<SessionCheck> CheckSession(Store& store, const SessionRow& row) {
  SessionCheck c;
  const std::string& id = row.meta.id;
  Hash prev = ChainStart(id);
  bool any = false;
  Status st = store.ReadFrames(id, [&](const FrameView& f) {
    ++c.frames_read;
    if (!c.first_bad_seq &&
        ChainNext(prev, f.seq, f.t_ns, f.direction, f.channel, f.payload) != f.hash) {
      c.first_bad_seq = f.seq;
    }
    prev = f.hash;  // go on from the stored hash: one edit is reported once, at its frame
    any = true;
    return Status::OK();
  });
  // A frame already found changed is the first problem: what it broke further on (a group's
  // structure) is not reported in its place.
  if (!st.ok() && !(c.first_bad_seq && st.code() == Status::Code::kCorruption)) return st;
  c.head_matches = any ? row.chain_head == prev : !row.chain_head.has_value();
  c.count_matches = row.frames == c.frames_read;
  c.sealed = row.seal.has_value();
  if (c.sealed) {
    Hash head = row.chain_head.value_or(ChainStart(id));
    c.seal_matches = ComputeSeal(row.meta, row.end, head, row.frames) == *row.seal;
  }
  if (c.first_bad_seq) {
    c.problem = fmt::format("frame {} does not match its hash: it or an earlier frame was changed",
                            *c.first_bad_seq);
  } else if (!c.head_matches) {
    c.problem = "the last frame is not the recorded chain head: frames were added or removed";
  } else if (!c.count_matches) {
    c.problem =
        fmt::format("{} frames stored but the session records {}", c.frames_read, row.frames);
  } else if (!c.sealed) {
    c.problem = row.ended ? "the session ended but carries no seal"
                          : "the session is not sealed (still running or interrupted)";
  } else if (!c.seal_matches) {
    c.problem = "the seal does not match the session's recorded fields";
  }
  return c;
}

}  // namespace podtape::store
