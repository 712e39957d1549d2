// asciicast v2 and v3 (https://docs.asciinema.org/manual/asciicast/v2/ and .../v3/): a writer
// that streams events to a ByteSink and a reader that streams a file's events to an EventSink.
//
// Writer: v2 lines carry absolute times, v3 lines intervals; both are printed in microseconds
// ("1.234567") from times rounded on the absolute scale, so v3's rounding error is carried forward
// and a long session does not drift. JSON text is produced with Boost.JSON. With `html_safe`,
// every '<', '>', '&', U+2028 and U+2029 inside the JSON is written as a \uXXXX escape, so the cast
// can sit inside an HTML <script> element without any recorded byte closing it.
//
// Reader: one line at a time (constant memory), v2 or v3 (v1 is refused), unknown event codes
// skipped and counted.
#ifndef PODTAPE_PLAYER_ASCIICAST_H_
#define PODTAPE_PLAYER_ASCIICAST_H_

#include <cstdint>
#include <istream>
#include <memory>
#include <optional>
#include <string>

#include <boost/json/serializer.hpp>

#include "player/events.h"
#include "player/output.h"

namespace podtape::player {

enum class CastVersion { kV2 = 2, kV3 = 3 };

struct CastHeader {
  int cols = 80;
  int rows = 24;
  int64_t timestamp_s = 0;  // Unix seconds of the start; 0 = omitted
  std::string command;      // empty = omitted
  std::string title;        // empty = omitted
  std::string term_type;    // $TERM; empty = omitted
  std::string shell;        // $SHELL; empty = omitted
  std::optional<double> idle_time_limit;
};

class AsciicastWriter {
 public:
  // `out` must outlive the writer.
  AsciicastWriter(CastVersion version, ByteSink* out, bool html_safe = false);
  Status WriteHeader(const CastHeader& header);
  // Events must come in time order (earlier times are clamped to the previous one).
  Status WriteEvent(const Event& event);

 private:
  Status WriteJson();  // writes line_ to out_, escaped when html_safe_
  CastVersion version_;
  ByteSink* out_;
  bool html_safe_;
  int64_t prev_us_ = 0;
  std::string line_;  // reused per event: no allocation once grown
  boost::json::serializer serializer_;
};

// Appends `text` to *out with the html_safe escapes (see above). `text` is JSON.
void AppendHtmlSafeJson(std::string_view text, std::string* out);

class AsciicastReader {
 public:
  // Reads the header line. `in` must outlive the reader.
  static Result<std::unique_ptr<AsciicastReader>> Open(std::istream* in, std::string name);
  CastVersion version() const { return version_; }
  const CastHeader& header() const { return header_; }
  // Streams every event to `sink`, with t_ns since the start (v3 intervals summed exactly in
  // nanoseconds). Corruption names the line that does not parse.
  Status ReadEvents(const EventSink& sink);
  int skipped() const { return skipped_; }  // events with codes this reader does not know

 private:
  AsciicastReader(std::istream* in, std::string name) : in_(in), name_(std::move(name)) {}
  std::istream* in_;
  std::string name_;
  CastVersion version_ = CastVersion::kV2;
  CastHeader header_;
  int64_t line_no_ = 1;
  int skipped_ = 0;
};

}  // namespace podtape::player

#endif  // PODTAPE_PLAYER_ASCIICAST_H_
