// SPDX-License-Identifier: GPL-2.0-or-later
// A driver for the fuzz targets when libFuzzer is not linked (the default g++ build): it runs
// every input of the corpus folders and files given, then -runs=N mutated inputs made with the
// target's own mutator from those, round-robin, deterministically from -seed=S. This is what the
// `fuzz` ctest label runs in every default test run, so no target rots; scripts/fuzz runs the
// same targets under libFuzzer with clang, ASan and UBSan for as long as asked.
//
//   fuzz_TARGET [-runs=N] [-seed=S] [-max_len=BYTES] PATH...
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "sim/rng.h"

namespace {

pdsim::sim::Rng g_rng(1);
std::string g_failing_input = "fuzz-failing-input";  // TARGET-failing-input, beside the run

std::vector<std::uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Where the input being run goes first: after a failure (an abort) it is the one that did it, and
// `fuzz_TARGET FILE` repeats the run on it alone. Removed when the run passes.
void save_current(const std::vector<std::uint8_t>& input) {
  std::ofstream out(g_failing_input, std::ios::binary);
  out.write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
}

}  // namespace

// libFuzzer's -malloc_limit_mb=256, which scripts/fuzz uses, for this driver too: one allocation
// of 256 MiB or more is a failure (issue 15: memory bounded on any input), so the regression inputs of
// an out-of-memory finding fail here as they did there.
constexpr std::size_t kMallocLimit = std::size_t{256} << 20;

void* checked_alloc(std::size_t n) {
  if (n >= kMallocLimit) {  // as libFuzzer counts it: 256 MiB itself is over
    std::fprintf(stderr, "fuzz: an allocation of %zu bytes, over the 256 MiB limit\n", n);
    std::abort();
  }
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}

void* operator new(std::size_t n) { return checked_alloc(n); }
void* operator new[](std::size_t n) { return checked_alloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

// A small byte-level mutation standing in for libFuzzer's: overwrite, insert or erase a byte,
// or flip a bit.
extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size) {
  if (size == 0) {
    if (max_size == 0) return 0;
    data[0] = static_cast<std::uint8_t>(g_rng.next());
    return 1;
  }
  const std::size_t at = g_rng.below(size);
  switch (g_rng.below(4)) {
    case 0: data[at] = static_cast<std::uint8_t>(g_rng.next()); return size;
    case 1: data[at] = static_cast<std::uint8_t>(data[at] ^ (1u << g_rng.below(8))); return size;
    case 2:
      if (size >= max_size) return size;
      std::memmove(data + at + 1, data + at, size - at);
      data[at] = static_cast<std::uint8_t>(g_rng.next());
      return size + 1;
    default:
      std::memmove(data + at, data + at + 1, size - at - 1);
      return size - 1;
  }
}

int main(int argc, char** argv) {
  std::uint64_t runs = 0, seed = 1;
  std::size_t max_len = 1 << 20;
  std::vector<std::filesystem::path> inputs;
  g_failing_input = std::filesystem::path(argv[0]).filename().string() + "-failing-input";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("-runs=", 0) == 0) runs = std::stoull(a.substr(6));
    else if (a.rfind("-seed=", 0) == 0) seed = std::stoull(a.substr(6));
    else if (a.rfind("-max_len=", 0) == 0) max_len = std::stoull(a.substr(9));
    else if (!a.empty() && a[0] == '-') {
      std::fprintf(stderr, "%s: unknown option '%s' (this driver takes -runs=N -seed=S -max_len=BYTES PATH...)\n", argv[0], argv[i]);
      return 2;
    } else if (std::filesystem::is_directory(a)) {
      for (const auto& e : std::filesystem::recursive_directory_iterator(a))
        if (e.is_regular_file()) inputs.push_back(e.path());
    } else if (std::filesystem::is_regular_file(a)) {
      inputs.push_back(a);
    } else {
      std::fprintf(stderr, "%s: no such file or folder '%s'\n", argv[0], argv[i]);
      return 2;
    }
  }
  std::sort(inputs.begin(), inputs.end());  // a fixed order: the run is the same every time
  g_rng = pdsim::sim::Rng(seed);
  std::vector<std::vector<std::uint8_t>> corpus;
  for (const auto& p : inputs) {
    corpus.push_back(read_file(p));
    save_current(corpus.back());
    (void)LLVMFuzzerTestOneInput(corpus.back().data(), corpus.back().size());
  }
  if (runs > 0 && corpus.empty()) {
    std::fprintf(stderr, "%s: -runs needs at least one input to mutate\n", argv[0]);
    return 2;
  }
  std::vector<std::uint8_t> buf;
  for (std::uint64_t r = 0; r < runs; ++r) {
    const auto& base = corpus[r % corpus.size()];
    buf.assign(base.begin(), base.end());
    buf.resize(std::max(max_len, base.size()));
    // Chains of one to four mutations, as libFuzzer stacks them.
    std::size_t size = base.size();
    const std::uint64_t depth = 1 + g_rng.below(4);
    for (std::uint64_t d = 0; d < depth; ++d)
      size = LLVMFuzzerCustomMutator(buf.data(), size, buf.size(), static_cast<unsigned>(g_rng.next()));
    buf.resize(size);
    save_current(buf);
    (void)LLVMFuzzerTestOneInput(buf.data(), buf.size());
  }
  std::filesystem::remove(g_failing_input);
  std::printf("%s: %zu inputs and %llu mutations, no failure\n", argv[0], corpus.size(),
              static_cast<unsigned long long>(runs));
  return 0;
}
