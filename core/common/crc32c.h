// SPDX-License-Identifier: GPL-2.0-or-later
// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), raw form: the caller passes the initial
// register value and gets the final register back, with no inversion either side.
// The standard CRC-32C of a buffer is crc32c_raw(0xFFFFFFFF, buf) ^ 0xFFFFFFFF.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace pdsim {

// Chooses the SSE4.2 instruction when the CPU has it, else the portable table version.
[[nodiscard]] std::uint32_t crc32c_raw(std::uint32_t crc, const void* data, std::size_t len) noexcept;
// Always the portable table version (slicing by 8).
[[nodiscard]] std::uint32_t crc32c_portable(std::uint32_t crc, const void* data, std::size_t len) noexcept;
// REQUIRES: crc32c_hardware_available().
[[nodiscard]] std::uint32_t crc32c_hardware(std::uint32_t crc, const void* data, std::size_t len) noexcept;
[[nodiscard]] bool crc32c_hardware_available() noexcept;
// "sse4.2" or "portable": what crc32c_raw uses on this machine.
[[nodiscard]] std::string_view crc32c_implementation() noexcept;

}  // namespace pdsim
