// SPDX-License-Identifier: GPL-2.0-or-later
#include "fuzz/fuzz_support.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <fmt/format.h>

#include "sim/rng.h"

namespace pdsim::fuzz {

void fail(std::string_view target, const std::string& what) {
  std::fprintf(stderr, "fuzz %.*s: %s\n", static_cast<int>(target.size()), target.data(), what.c_str());
  std::fflush(stderr);
  std::abort();
}

void require_one_line(std::string_view target, const Error& e, std::string_view what) {
  const std::string s = e.to_string();
  if (s.find('\n') != std::string::npos) fail(target, fmt::format("{} error spans lines: {}", what, s));
}

namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      if (start < text.size()) lines.emplace_back(text.substr(start));
      break;
    }
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// Boundary numbers for counts, block numbers and sizes: around 2^8, 2^16, 2^24, 2^32, 2^40,
// 2^63, 2^64 and past it, negative, and long.
std::string number(sim::Rng& rng, std::string_view old) {
  static constexpr std::array<const char*, 18> kChoices = {
      "0",          "1",          "2",           "255",         "256",          "65535",
      "16777215",   "16777216",   "4294967295",  "4294967296",  "1099511627776", "9223372036854775807",
      "9223372036854775808", "18446744073709551615", "18446744073709551616", "-1", "00000000000000000000001",
      "99999999999999999999999999999999"};
  if (!old.empty() && rng.below(3) == 0) {  // a neighbour of the old value
    unsigned long long v = std::strtoull(std::string(old).c_str(), nullptr, 10);
    return std::to_string(rng.below(2) == 0 ? v + 1 : v - 1);
  }
  return kChoices[rng.below(kChoices.size())];
}

}  // namespace

std::size_t custom_mutate(StructuredMutator structured, unsigned bytes_one_in, std::uint8_t* data, std::size_t size,
                          std::size_t max_size, unsigned seed) {
  if (seed % bytes_one_in != 0) {
    const std::size_t n = structured(data, size, max_size, seed);
    if (n != size || seed % 2 == 0) return n;
  }
  return LLVMFuzzerMutate(data, size, max_size);
}

std::size_t mutate_text(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed) {
  sim::Rng rng(seed);
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> lines = split_lines(text);
  if (lines.empty()) return size;
  const std::uint64_t what = rng.below(8);
  std::string& line = lines[rng.below(lines.size())];
  if (what < 5) {  // a number in a line
    std::vector<std::pair<std::size_t, std::size_t>> numbers;
    for (std::size_t i = 0; i < line.size();) {
      if (!std::isdigit(static_cast<unsigned char>(line[i]))) { ++i; continue; }
      std::size_t j = i;
      while (j < line.size() && std::isdigit(static_cast<unsigned char>(line[j]))) ++j;
      numbers.emplace_back(i, j - i);
      i = j;
    }
    if (numbers.empty()) return size;
    const auto [at, len] = numbers[rng.below(numbers.size())];
    line.replace(at, len, number(rng, std::string_view(line).substr(at, len)));
  } else if (what == 5 && lines.size() > 1) {
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(rng.below(lines.size())));
  } else if (what == 6) {
    const std::string copy = line;
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(rng.below(lines.size() + 1)), copy);
  } else if (lines.size() > 1) {
    std::swap(line, lines[rng.below(lines.size())]);
  }
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  if (out.size() > max_size) return size;
  std::copy(out.begin(), out.end(), data);
  return out.size();
}

}  // namespace pdsim::fuzz
