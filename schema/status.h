// The error convention of podtape's own modules (schema/, recorder/, player/, cli/).
//
// - Functions that can fail return `Status`, or `Result<T>` when they also produce a value.
// - A Status message is one line, lower case, naming what failed and, where it helps, what to do:
//   "invalid base64 in message on channel 1", "schema version 9 is newer than this podtape (3)".
//   Callers add context with WithContext("opening /x.db") -> "opening /x.db: <message>".
// - Exceptions never cross a module's API: code that calls a throwing library (Boost.JSON,
//   yaml-cpp, CLI11) catches at its own boundary and returns a Status.
// - At the Beast/Asio edge, `boost::system::error_code` is used as Beast does; the unit that owns
//   the socket converts it to a Status before it reaches any other module.
// - Only `main` (cli/) prints a Status, once, as one line on stderr, and chooses the exit code.
#ifndef PODTAPE_SCHEMA_STATUS_H_
#define PODTAPE_SCHEMA_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace podtape {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // bad user input: flags, files, references
    kNotFound,         // a session, pod, file or key that does not exist
    kProtocol,         // a peer broke the wire protocol (bad frame, bad status JSON)
    kCorruption,       // stored data that does not parse or does not match its hash
    kIOError,          // the OS, the disk or the network failed
    kUnsupported,      // a newer schema, an unknown format
    kRemote,           // the server refused or failed (HTTP error, Status failure)
  };

  Status() = default;
  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Protocol(std::string msg) { return {Code::kProtocol, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status Unsupported(std::string msg) { return {Code::kUnsupported, std::move(msg)}; }
  static Status Remote(std::string msg) { return {Code::kRemote, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "context: message"; an OK status stays OK.
  Status WithContext(std::string_view context) const {
    if (ok()) return *this;
    std::string m(context);
    m += ": ";
    m += message_;
    return {code_, std::move(m)};
  }

  friend bool operator==(const Status&, const Status&) = default;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status saying why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace podtape

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define PODTAPE_RETURN_IF_ERROR(expr) \
  do {                                \
    ::podtape::Status _st = (expr);   \
    if (!_st.ok()) return _st;        \
  } while (0)

#endif  // PODTAPE_SCHEMA_STATUS_H_
