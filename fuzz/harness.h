// Fuzz harnesses: each takes arbitrary bytes, drives one parser through its real entry points and
// checks the properties its header promises.
//
// A harness returns "" when every property held, else one line saying which property broke. In a
// fuzz executable (fuzz/<target>_fuzz.cc built by fuzz/CMakeLists.txt) the libFuzzer entry point
// prints that line and aborts, so libFuzzer saves the input; podtape_tests compiles the same files
// with PODTAPE_FUZZ_NO_MAIN and replays the seed corpora and every saved crash
// (tests/fuzz/fuzz_regressions_test.cc). Memory errors are found by the sanitizers, not here.
// Harnesses are deterministic: the same bytes always take the same path.
#ifndef PODTAPE_FUZZ_HARNESS_H_
#define PODTAPE_FUZZ_HARNESS_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>

namespace podtape::fuzz {

using Input = std::span<const uint8_t>;
using Harness = std::string (*)(Input data);

// recorder/channel_codec.h: DecodeMessage for every subprotocol, sender and frame type; the
// encode/decode round trip; strict base64.
std::string FuzzChannelCodec(Input data);
// recorder/channel_codec.h: ParseStatus (channel 3) for every subprotocol.
std::string FuzzStatusParser(Input data);
// recorder/channel_codec.h: ResizeStreamParser fed whole and cut into pieces.
std::string FuzzResizeStream(Input data);
// recorder/kubeconfig.h: LoadConnection on the bytes as the only kubeconfig file, with no file
// named inside it read and no exec plugin run.
std::string FuzzKubeconfig(Input data);
// player/asciicast.h and player/import.h: the reader, then ImportCast into a :memory: store.
std::string FuzzAsciicastImport(Input data);
// player/utf8_decoder.h: the output against an independent reference, whatever the cuts.
std::string FuzzUtf8Decoder(Input data);
// player/command_index.h: CommandExtractor over a session made of the bytes.
std::string FuzzCommandExtractor(Input data);
// schema/frame_decoder.h over schema/payload_codec.h: stored rows (raw, zstd, groups), edited,
// read back with two batch sizes.
std::string FuzzStoredRows(Input data);

// Reads an input front to back; past its end every read gives zeros / empty.
class ByteReader {
 public:
  explicit ByteReader(Input data) : data_(data) {}
  bool empty() const { return pos_ >= data_.size(); }
  uint8_t U8() { return empty() ? 0 : data_[pos_++]; }
  uint16_t U16() { return static_cast<uint16_t>(U8() | (U8() << 8)); }
  std::string_view Take(size_t n) {
    n = std::min(n, data_.size() - std::min(pos_, data_.size()));
    std::string_view out(reinterpret_cast<const char*>(data_.data()) + pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view Rest() { return Take(data_.size()); }

 private:
  Input data_;
  size_t pos_ = 0;
};

// True when `s` is well-formed UTF-8 (Unicode Table 3-7). A test oracle kept apart from the
// decoder it checks.
inline size_t ValidUtf8Prefix(std::string_view s, size_t i, bool* complete);
inline bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    bool complete = false;
    const size_t n = ValidUtf8Prefix(s, i, &complete);
    if (!complete) return false;
    i += n;
  }
  return true;
}

// At s[i]: the length of the longest prefix of a well-formed sequence (Table 3-7), and whether it
// is a whole character. 0 when s[i] cannot start one.
inline size_t ValidUtf8Prefix(std::string_view s, size_t i, bool* complete) {
  struct Row {
    uint8_t lead_lo, lead_hi, len, second_lo, second_hi;
  };
  static constexpr Row kRows[] = {
      {0x00, 0x7F, 1, 0, 0},       {0xC2, 0xDF, 2, 0x80, 0xBF}, {0xE0, 0xE0, 3, 0xA0, 0xBF},
      {0xE1, 0xEC, 3, 0x80, 0xBF}, {0xED, 0xED, 3, 0x80, 0x9F}, {0xEE, 0xEF, 3, 0x80, 0xBF},
      {0xF0, 0xF0, 4, 0x90, 0xBF}, {0xF1, 0xF3, 4, 0x80, 0xBF}, {0xF4, 0xF4, 4, 0x80, 0x8F},
  };
  *complete = false;
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  for (const Row& r : kRows) {
    if (byte(i) < r.lead_lo || byte(i) > r.lead_hi) continue;
    size_t n = 1;
    while (n < r.len && i + n < s.size()) {
      const uint8_t lo = n == 1 ? r.second_lo : 0x80;
      const uint8_t hi = n == 1 ? r.second_hi : 0xBF;
      if (byte(i + n) < lo || byte(i + n) > hi) break;
      ++n;
    }
    *complete = n == r.len;
    return n;
  }
  return 0;
}

inline int RunOrAbort(Harness harness, const uint8_t* data, size_t size) {
  const std::string broken = harness(Input(data, size));
  if (!broken.empty()) {
    std::fprintf(stderr, "fuzz property broken: %s\n", broken.c_str());
    std::abort();
  }
  return 0;
}

}  // namespace podtape::fuzz

// Defines the libFuzzer entry point for `harness`, except in podtape_tests.
#ifdef PODTAPE_FUZZ_NO_MAIN
#define PODTAPE_FUZZ_TARGET(harness)
#else
#define PODTAPE_FUZZ_TARGET(harness)                                        \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    return ::podtape::fuzz::RunOrAbort(harness, data, size);                \
  }
#endif

#endif  // PODTAPE_FUZZ_HARNESS_H_
