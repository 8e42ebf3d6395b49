// SPDX-License-Identifier: GPL-2.0-or-later
// The structure-aware mutator of the image fuzzers. A byte-flipping fuzzer never gets past the
// block checksums; this one edits a field the format gives meaning to and re-seals the block, so
// the damage reaches the code behind the validators:
//   - btree nodes: nr_entries, max_entries, value_size, flags, a key, a value (a child pointer, a
//     data block and time, a device's details), two keys swapped;
//   - space-map bitmaps: one 2-bit count; index blocks: an entry's block, nr_free, first free;
//   - array blocks: max_entries, nr_entries, value_size, an entry;
//   - thin and cache superblocks: any field, the space-map roots' four fields included;
//   - any block: copied over another location (a shared or misplaced block), or its block-number
//     field changed.
// Values come from a list that finds boundaries: 0, 1, the field's neighbours, the device's size
// and its neighbours, 2^32 - 1, 2^63, all ones, another block's number, random bits.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pdsim::fuzz {

// Mutates the sparse image (fuzz/sparse_image.h) in data[0, size) in place; returns the new size
// (at most max_size). Deterministic in `seed`. An input that holds no metadata block comes back
// unchanged (size returned as is): the caller falls back to a byte-level mutation.
[[nodiscard]] std::size_t mutate_image(std::uint8_t* data, std::size_t size, std::size_t max_size, unsigned seed);

}  // namespace pdsim::fuzz
