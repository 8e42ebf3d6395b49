// Builds thin-pool metadata from thin_dump's XML (parsed with expat). The whole document is
// parsed and validated before anything is written: malformed XML, unknown elements, missing or
// out-of-range numbers, duplicate devices, overlapping mappings and mappings beyond the data
// device are refused with one line saying what and where.
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

}  // namespace pdsim::thin
