#include "player/output.h"

#include <errno.h>
#include <fmt/format.h>
#include <string.h>
#include <unistd.h>

namespace podtape::player {
namespace {
constexpr size_t kBufferBytes = 256 * 1024;
}  // namespace

std::string ErrnoText(int err) {
  std::string text = strerror(err);
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') {
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  }
  return text;
}

FdSink::FdSink(int fd, std::string name) : fd_(fd), name_(std::move(name)) {
  buffer_.reserve(kBufferBytes);
}

FdSink::~FdSink() { (void)Flush(); }

Status FdSink::Write(std::string_view bytes) {
  if (buffer_.size() + bytes.size() > kBufferBytes) {
    PODTAPE_RETURN_IF_ERROR(Flush());
    if (bytes.size() >= kBufferBytes) return WriteAll(bytes);
  }
  buffer_.append(bytes);
  return Status::OK();
}

Status FdSink::Flush() {
  if (buffer_.empty()) return Status::OK();
  Status st = WriteAll(buffer_);
  buffer_.clear();
  return st;
}

Status FdSink::WriteAll(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(fmt::format("writing {}: {}", name_, ErrnoText(errno)));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    written_ += n;
  }
  return Status::OK();
}

}  // namespace podtape::player
