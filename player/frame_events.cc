#include "player/frame_events.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "recorder/channel_codec.h"

namespace podtape::player {

struct FrameEventizer::ResizeState {
  codec::ResizeStreamParser parser;
  std::vector<codec::TerminalSize> sizes;
  bool failed = false;
};

FrameEventizer::FrameEventizer(Options options, EventSink sink)
    : options_(options), sink_(std::move(sink)), resize_(std::make_unique<ResizeState>()) {}

FrameEventizer::~FrameEventizer() = default;

FrameEventizer::Options FrameEventizer::ForSession(const store::SessionRow& row, bool input) {
  Options o;
  o.input = input;
  o.markers_from_input = row.meta.kind != "import";
  return o;
}

Status FrameEventizer::Emit(int64_t t_ns, EventType type, std::string_view data) {
  if (t_ns < last_t_ns_) t_ns = last_t_ns_;  // events never go back in time
  last_t_ns_ = t_ns;
  return sink_(Event{t_ns, type, data});
}

Status FrameEventizer::OnFrame(const store::FrameView& frame) {
  last_frame_t_ns_ = std::max(last_frame_t_ns_, frame.t_ns);
  if (frame.direction == store::Direction::kFromServer) {
    switch (frame.channel) {
      case codec::kStdout:
      case codec::kStderr: {
        if (frame.payload.empty()) return Status::OK();  // ready signal
        text_.clear();
        (frame.channel == codec::kStdout ? stdout_decoder_ : stderr_decoder_)
            .Feed(frame.payload, &text_);
        if (text_.empty()) return Status::OK();
        return Emit(frame.t_ns, EventType::kOutput, text_);
      }
      case kMarkerChannel:
        return Emit(frame.t_ns, EventType::kMarker, frame.payload);
      default:
        return Status::OK();
    }
  }
  switch (frame.channel) {
    case codec::kStdin:
      return OnStdin(frame);
    case codec::kResize: {
      if (resize_->failed) return Status::OK();
      resize_->sizes.clear();
      Status st = resize_->parser.Feed(frame.payload, &resize_->sizes);
      if (!st.ok()) {
        resize_->failed = true;
        ++resize_errors_;
      }
      for (const codec::TerminalSize& s : resize_->sizes) {
        char buf[32];
        auto r = fmt::format_to_n(buf, sizeof buf, "{}x{}", s.width, s.height);
        PODTAPE_RETURN_IF_ERROR(
            Emit(frame.t_ns, EventType::kResize, std::string_view(buf, r.size)));
      }
      return Status::OK();
    }
    default:
      return Status::OK();
  }
}

Status FrameEventizer::OnStdin(const store::FrameView& frame) {
  if (frame.payload.empty()) return Status::OK();
  text_.clear();
  stdin_decoder_.Feed(frame.payload, &text_);
  if (options_.input && !text_.empty()) {
    PODTAPE_RETURN_IF_ERROR(Emit(frame.t_ns, EventType::kInput, text_));
  }
  if (!options_.markers_from_input) return Status::OK();
  for (char c : frame.payload) {
    if (c == '\r' || c == '\n') {
      const bool crlf = c == '\n' && last_was_cr_;
      last_was_cr_ = c == '\r';
      if (crlf) continue;
      // Trim the label: a marker names the command typed, without surrounding blanks.
      size_t b = line_.find_first_not_of(' ');
      size_t e = line_.find_last_not_of(' ');
      std::string_view label = b == std::string::npos
                                   ? std::string_view()
                                   : std::string_view(line_).substr(b, e - b + 1);
      PODTAPE_RETURN_IF_ERROR(Emit(frame.t_ns, EventType::kMarker, label));
      line_.clear();
      continue;
    }
    last_was_cr_ = false;
    const auto u = static_cast<unsigned char>(c);
    if (c == 0x7F || c == 0x08) {  // backspace / erase: drop the last character typed
      while (!line_.empty() && (static_cast<unsigned char>(line_.back()) & 0xC0) == 0x80) {
        line_.pop_back();
      }
      if (!line_.empty()) line_.pop_back();
    } else if (c == 0x15 || c == 0x03) {  // ^U kills the line, ^C abandons it
      line_.clear();
    } else if (u >= 0x20 && line_.size() < 256) {
      line_.push_back(c);
    }
  }
  return Status::OK();
}

Status FrameEventizer::Finish(std::optional<int> exit_code, int64_t end_t_ns) {
  last_t_ns_ = std::max(last_t_ns_, last_frame_t_ns_);  // a flushed tail belongs to the last frame
  text_.clear();
  stdout_decoder_.Flush(&text_);
  stderr_decoder_.Flush(&text_);
  if (!text_.empty()) PODTAPE_RETURN_IF_ERROR(Emit(last_t_ns_, EventType::kOutput, text_));
  text_.clear();
  stdin_decoder_.Flush(&text_);
  if (options_.input && !text_.empty()) {
    PODTAPE_RETURN_IF_ERROR(Emit(last_t_ns_, EventType::kInput, text_));
  }
  if (exit_code) {
    char buf[16];
    auto r = fmt::format_to_n(buf, sizeof buf, "{}", *exit_code);
    PODTAPE_RETURN_IF_ERROR(
        Emit(std::max(end_t_ns, last_t_ns_), EventType::kExit, std::string_view(buf, r.size)));
  }
  return Status::OK();
}

int64_t SessionEndOffset(const store::SessionRow& row, int64_t last_frame_t_ns) {
  if (!row.ended || row.end.ended_at_ns <= row.meta.started_at_ns) return last_frame_t_ns;
  return std::max(last_frame_t_ns, row.end.ended_at_ns - row.meta.started_at_ns);
}

}  // namespace podtape::player
