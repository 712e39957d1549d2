// Byte sinks the exports write to: a buffered file descriptor and a string (tests).
#ifndef PODTAPE_PLAYER_OUTPUT_H_
#define PODTAPE_PLAYER_OUTPUT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/status.h"

namespace podtape::player {

// strerror(err) with a lower-case first letter, for one-line error messages.
std::string ErrnoText(int err);

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(std::string_view bytes) = 0;
  virtual Status Flush() { return Status::OK(); }
};

// Appends to a caller-owned string.
class StringSink : public ByteSink {
 public:
  explicit StringSink(std::string* out) : out_(out) {}
  Status Write(std::string_view bytes) override {
    out_->append(bytes);
    return Status::OK();
  }

 private:
  std::string* out_;
};

// Buffers writes (256 KiB) to a file descriptor it does not own. Flush() (also called by the
// destructor, errors then ignored) writes the rest. `name` is used in error messages.
class FdSink : public ByteSink {
 public:
  FdSink(int fd, std::string name);
  ~FdSink() override;
  FdSink(const FdSink&) = delete;
  FdSink& operator=(const FdSink&) = delete;
  Status Write(std::string_view bytes) override;
  Status Flush() override;
  int64_t bytes_written() const { return written_; }

 private:
  Status WriteAll(std::string_view bytes);
  int fd_;
  std::string name_;
  std::string buffer_;
  int64_t written_ = 0;
};

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_OUTPUT_H_
