// Channel codec throughput: decoding 32 KiB stdout frames (binary and base64), encoding them,
// and parsing the resize stream. The peer figure beside each is memcpy of the same bytes in the
// same run; the summary prints codec MB/s, memcpy MB/s and the ratio.
//
//   build-NAME/bench/codec_bench                      (all, with the ratio table at the end)
//   build-NAME/bench/codec_bench --benchmark_filter=Base64
#include <benchmark/benchmark.h>

#include <time.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "recorder/channel_codec.h"

namespace {

using podtape::codec::DecodedMessage;
using podtape::codec::FrameType;
using podtape::codec::ResizeStreamParser;
using podtape::codec::Sender;
using podtape::codec::Subprotocol;
using podtape::codec::TerminalSize;

constexpr size_t kFrame = 32 * 1024;

std::string Payload(size_t n) {
  std::string s(n, '\0');
  uint32_t x = 2463534242u;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

std::string Wire(Subprotocol p, const std::string& payload) {
  std::string out;
  podtape::codec::EncodeMessage(p, 1, payload, &out);
  return out;
}

// 100 resize messages as kubectl sends them, concatenated (one channel-4 stream).
std::string ResizeStream() {
  std::string s;
  for (int i = 0; i < 100; ++i) {
    s += podtape::codec::EncodeResize(
        {static_cast<uint16_t>(80 + i), static_cast<uint16_t>(24 + i)});
  }
  return s;
}

void BM_DecodeBinary32K(benchmark::State& state) {
  const std::string wire = Wire(Subprotocol::kV5, Payload(kFrame));
  std::string scratch;
  DecodedMessage out;
  for (auto _ : state) {
    auto st = podtape::codec::DecodeMessage(Subprotocol::kV5, Sender::kServer, FrameType::kBinary,
                                            wire, &scratch, &out);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(out.payload.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFrame));
}
BENCHMARK(BM_DecodeBinary32K);

void BM_DecodeBase64_32K(benchmark::State& state) {
  const std::string wire = Wire(Subprotocol::kV4Base64, Payload(kFrame));
  std::string scratch;
  DecodedMessage out;
  for (auto _ : state) {
    auto st = podtape::codec::DecodeMessage(Subprotocol::kV4Base64, Sender::kServer,
                                            FrameType::kText, wire, &scratch, &out);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(out.payload.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFrame));  // decoded bytes
}
BENCHMARK(BM_DecodeBase64_32K);

void BM_EncodeBinary32K(benchmark::State& state) {
  const std::string payload = Payload(kFrame);
  std::string out;
  for (auto _ : state) {
    out.clear();
    podtape::codec::EncodeMessage(Subprotocol::kV5, 0, payload, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFrame));
}
BENCHMARK(BM_EncodeBinary32K);

void BM_EncodeBase64_32K(benchmark::State& state) {
  const std::string payload = Payload(kFrame);
  std::string out;
  for (auto _ : state) {
    out.clear();
    podtape::codec::EncodeMessage(Subprotocol::kV4Base64, 0, payload, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFrame));
}
BENCHMARK(BM_EncodeBase64_32K);

void BM_ResizeStream(benchmark::State& state) {
  const std::string stream = ResizeStream();
  std::vector<TerminalSize> sizes;
  sizes.reserve(100);
  for (auto _ : state) {
    ResizeStreamParser parser;
    sizes.clear();
    auto st = parser.Feed(stream, &sizes);
    benchmark::DoNotOptimize(st);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * stream.size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 100));
}
BENCHMARK(BM_ResizeStream);

// The peer: copying the same bytes once.
void BM_Memcpy32K(benchmark::State& state) {
  const std::string src = Payload(kFrame);
  std::string dst(kFrame, '\0');
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), kFrame);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFrame));
}
BENCHMARK(BM_Memcpy32K);

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// MB/s of `body` over `bytes` bytes per call, in this thread's CPU time (about 0.3 s of it), so
// that other load on the machine does not skew the ratio.
double MegabytesPerSecond(size_t bytes, const std::function<void()>& body) {
  size_t calls = 0;
  const double start = ThreadCpuSeconds();
  double now = start;
  while (now - start < 0.3) {
    for (int i = 0; i < 64; ++i) body();
    calls += 64;
    now = ThreadCpuSeconds();
  }
  return static_cast<double>(calls * bytes) / (now - start) / 1e6;
}

// The ratio table: each codec operation next to memcpy of the same bytes, in one run.
void PrintRatios() {
  const std::string payload = Payload(kFrame);
  const std::string binary = Wire(Subprotocol::kV5, payload);
  const std::string base64 = Wire(Subprotocol::kV4Base64, payload);
  const std::string stream = ResizeStream();
  std::string scratch, out, dst(kFrame, '\0');
  DecodedMessage msg;
  auto copy = [&](size_t n) {
    return MegabytesPerSecond(n, [&] {
      std::memcpy(dst.data(), payload.data(), n);
      benchmark::DoNotOptimize(dst.data());
      benchmark::ClobberMemory();
    });
  };
  struct Row {
    const char* name;
    size_t bytes;
    std::function<void()> body;
  };
  const Row rows[] = {
      {"decode binary 32 KiB (a view)", kFrame,
       [&] {
         auto st = podtape::codec::DecodeMessage(Subprotocol::kV5, Sender::kServer,
                                                 FrameType::kBinary, binary, &scratch, &msg);
         benchmark::DoNotOptimize(st);
         benchmark::DoNotOptimize(msg.payload.data());
       }},
      {"decode base64 32 KiB", kFrame,
       [&] {
         auto st = podtape::codec::DecodeMessage(Subprotocol::kV4Base64, Sender::kServer,
                                                 FrameType::kText, base64, &scratch, &msg);
         benchmark::DoNotOptimize(st);
         benchmark::DoNotOptimize(msg.payload.data());
       }},
      {"encode base64 32 KiB", kFrame,
       [&] {
         out.clear();
         podtape::codec::EncodeMessage(Subprotocol::kV4Base64, 0, payload, &out);
         benchmark::DoNotOptimize(out.data());
       }},
      {"resize stream (100 objects)", stream.size(),
       [&] {
         ResizeStreamParser parser;
         std::vector<TerminalSize> sizes;
         auto st = parser.Feed(stream, &sizes);
         benchmark::DoNotOptimize(st);
       }},
  };
  std::printf("\n%-30s %12s %12s %8s\n", "operation", "codec MB/s", "memcpy MB/s", "ratio");
  for (const Row& r : rows) {
    const double ours = MegabytesPerSecond(r.bytes, r.body);
    const double peer = copy(r.bytes);
    std::printf("%-30s %12.0f %12.0f %8.3f\n", r.name, ours, peer, ours / peer);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  PrintRatios();
  return 0;
}
