// Replays every seed (tests/fuzz/corpus/<target>/) and every crash the fuzzers found
// (tests/fuzz/regressions/<target>/) through the fuzz harnesses (fuzz/harness.h), in every build:
// each input must hold every property its harness checks (and, in the sanitizer build, run clean
// under ASan and UBSan).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/harness.h"

namespace podtape::fuzz {
namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;  // fuzz/<name>_fuzz.cc, tests/fuzz/corpus/<name>/
  Harness harness;
};

const Target kTargets[] = {
    {"asciicast_import", FuzzAsciicastImport},   {"channel_codec", FuzzChannelCodec},
    {"command_extractor", FuzzCommandExtractor}, {"kubeconfig", FuzzKubeconfig},
    {"resize_stream", FuzzResizeStream},         {"status_parser", FuzzStatusParser},
    {"utf8_decoder", FuzzUtf8Decoder},           {"stored_rows", FuzzStoredRows},
};

const fs::path kFuzzTests = fs::path(PODTAPE_SOURCE_DIR) / "tests" / "fuzz";

std::vector<fs::path> FilesIn(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string Replay(const Target& t, const fs::path& file) {
  const std::string bytes = Read(file);
  return t.harness(Input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

class FuzzReplay : public ::testing::TestWithParam<Target> {};

TEST_P(FuzzReplay, SeedsAndCrashesFoundHoldEveryProperty) {
  const std::vector<fs::path> seeds = FilesIn(kFuzzTests / "corpus" / GetParam().name);
  ASSERT_GE(seeds.size(), 8u) << "too few seeds for " << GetParam().name;
  for (const fs::path& f : seeds) EXPECT_EQ(Replay(GetParam(), f), "") << f;
  // None until the fuzzer finds something for this target.
  for (const fs::path& f : FilesIn(kFuzzTests / "regressions" / GetParam().name)) {
    EXPECT_EQ(Replay(GetParam(), f), "") << f;
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(kTargets),
                         [](const ::testing::TestParamInfo<Target>& info) {
                           return std::string(info.param.name);
                         });

// Every fuzz/*_fuzz.cc has a row above, and every corpus or regression folder names a target.
TEST(FuzzTargets, EveryTargetIsReplayed) {
  auto known = [](const std::string& name) {
    return std::any_of(std::begin(kTargets), std::end(kTargets),
                       [&](const Target& t) { return name == t.name; });
  };
  int targets = 0;
  for (const fs::path& f : FilesIn(fs::path(PODTAPE_SOURCE_DIR) / "fuzz")) {
    const std::string file = f.filename().string();
    if (!file.ends_with("_fuzz.cc")) continue;
    ++targets;
    EXPECT_TRUE(known(file.substr(0, file.size() - 8))) << file << " is not replayed here";
  }
  EXPECT_EQ(targets, static_cast<int>(std::size(kTargets)));
  for (const char* kind : {"corpus", "regressions"}) {
    std::error_code ec;
    if (!fs::is_directory(kFuzzTests / kind, ec)) continue;
    for (const auto& e : fs::directory_iterator(kFuzzTests / kind)) {
      EXPECT_TRUE(known(e.path().filename().string())) << e.path() << " names no target";
    }
  }
}

}  // namespace
}  // namespace podtape::fuzz
