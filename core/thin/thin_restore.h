// SPDX-License-Identifier: GPL-2.0-or-later
// Builds thin-pool metadata from thin_dump's XML (parsed with expat). Malformed XML, unknown
// elements, missing or out-of-range numbers, duplicate devices, overlapping mappings and mappings
// beyond the data device are refused with one line saying what and where.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "core/common/result.h"
#include "core/io/block_device.h"
#include "core/thin/thin_format.h"

namespace pdsim::thin {

struct XmlMapping {
  std::uint64_t origin_begin;
  std::uint64_t data_begin;
  std::uint64_t length;
  std::uint32_t time;
};

struct XmlDevice {
  std::uint64_t dev_id;
  DeviceDetails details;
  std::vector<XmlMapping> mappings;
};

struct XmlPool {
  std::uint32_t time = 0;
  std::uint64_t transaction = 0;
  std::uint32_t flags = 0;
  std::uint32_t version = 2;
  std::uint32_t data_block_size = 0;
  std::uint64_t nr_data_blocks = 0;
  std::vector<XmlDevice> devices;
};

// Parses and validates a document.
[[nodiscard]] Result<XmlPool> parse_thin_xml(const std::string& text);
// The same, streaming the document from `in` in chunks (no copy of the whole text in memory).
[[nodiscard]] Result<XmlPool> parse_thin_xml(std::istream& in);
// Formats `dev` and writes the pool into it, then commits.
[[nodiscard]] Status restore_pool(BlockDevice& dev, const XmlPool& pool);
// Parses the document from `in` and builds the pool in `dev` as it goes, in one pass, holding no
// more than a few nodes of it in memory: each device's mappings, when they ascend (as thin_dump
// writes them), are packed bottom-up into full btree nodes. Validates as restore_pool does; on
// any error `dev` holds a partial, uncommitted pool (callers stage into a scratch device).
// Each device's mapped_blocks is the number of blocks its mappings hold, as thin_restore computes
// it; where the document says otherwise, `warnings` (when given) gets one line per device.
[[nodiscard]] Status restore_thin_xml(std::istream& in, BlockDevice& dev, std::vector<std::string>* warnings = nullptr);

}  // namespace pdsim::thin
