# SPDX-License-Identifier: GPL-2.0-or-later
# Warnings and sanitizers as INTERFACE targets that every pdsim target links.
add_library(pdsim_warnings INTERFACE)
target_compile_options(pdsim_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
  -Wno-missing-field-initializers)  # designated initializers leave the rest defaulted on purpose
if(PDSIM_WERROR)
  target_compile_options(pdsim_warnings INTERFACE -Werror)
endif()

add_library(pdsim_sanitizers INTERFACE)
if(PDSIM_SANITIZE)
  target_compile_options(pdsim_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(pdsim_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# The fuzz build (scripts/fuzz): clang, the sanitizers above, and every object instrumented for
# libFuzzer's coverage feedback; fuzz/ links the fuzzer itself into its targets.
option(PDSIM_FUZZ "Build the fuzz targets with libFuzzer (clang; use with PDSIM_SANITIZE)" OFF)
if(PDSIM_FUZZ)
  target_compile_options(pdsim_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()

add_library(pdsim_options INTERFACE)
target_link_libraries(pdsim_options INTERFACE pdsim_warnings pdsim_sanitizers)

# PDSIM_ASSERT is always on; PDSIM_ASSERT_SLOW only with this option (core/common/assert.h).
if(PDSIM_SLOW_ASSERTS)
  target_compile_definitions(pdsim_options INTERFACE PDSIM_SLOW_ASSERTS)
endif()
