// SPDX-License-Identifier: GPL-2.0-or-later
// What the fuzz targets share: the libFuzzer entry points they define, a failed property that
// stops the run with the input saved, and the text mutator of the line-oriented inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/result.h"

extern "C" {
// Defined by every target (libFuzzer's interface).
int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned int seed);
// libFuzzer's own byte-level mutation; fuzz/standalone_main.cc has a small one when libFuzzer is
// not linked.
std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);
}

namespace pdsim::fuzz {

// A property of the target failed: prints "fuzz TARGET: WHAT" and aborts, which libFuzzer (and
// the standalone driver) report with the input that did it.
[[noreturn]] void fail(std::string_view target, const std::string& what);

// Bad input gets a one-line error: fails the target (with `what` and the message) when `e` spans
// lines.
void require_one_line(std::string_view target, const Error& e, std::string_view what);

// A structure-aware edit of a text input (XML, step lines, fault-plan lines): a number replaced
// by a boundary value, a line deleted or repeated, two lines swapped, a word repeated. Returns
// the new size (at most max_size). Deterministic in `seed`.
[[nodiscard]] std::size_t mutate_text(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed);

// What a target's LLVMFuzzerCustomMutator does: most of the time the structure-aware mutation,
// one time in `bytes_one_in` (and whenever the structured one changed nothing, half of those)
// libFuzzer's byte-level LLVMFuzzerMutate, which finds what the structure hides.
using StructuredMutator = std::size_t (*)(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed);
[[nodiscard]] std::size_t custom_mutate(StructuredMutator structured, unsigned bytes_one_in, std::uint8_t* data,
                                        std::size_t size, std::size_t max_size, unsigned seed);

}  // namespace pdsim::fuzz
