# SPDX-License-Identifier: GPL-2.0-or-later
# cmake -DROOT=<repository> -P check_layers.cmake
cmake_minimum_required(VERSION 3.25)
# Every #include "core/<dir>/..." or "sim/..." in a layer's sources must name a layer that layer
# may use (../shared/DESIGN.md), and a layer's private headers are included only inside it (or by
# tests/). One line per violation, and a non-zero exit when there is any.
set(allowed_common common)
set(allowed_io io common)
set(allowed_block block io common)
set(allowed_pdata pdata tm sm btree array block io common)
set(allowed_xml xml common)
set(allowed_seam seam io common)
set(allowed_thin thin seam xml tm sm btree array block io common)
set(allowed_cache cache seam xml tm sm btree array block io common)
set(allowed_check check block io common)
set(allowed_pack pack block io common)
set(allowed_sim sim io common)

set(layer_of_common common)
set(layer_of_io io)
set(layer_of_block block)
set(layer_of_pdata pdata)
set(layer_of_tm pdata)
set(layer_of_sm pdata)
set(layer_of_btree pdata)
set(layer_of_array pdata)
set(layer_of_xml xml)
set(layer_of_seam seam)
set(layer_of_thin thin)
set(layer_of_cache cache)
set(layer_of_check check)
set(layer_of_pack pack)

# Headers private to their layer: only files of that layer include them (tests/ may, to test
# internals). Everyone else goes through the layer's public headers.
set(private_headers
  core/btree/btree_internal.h:pdata
  core/sm/sm_ll.h:pdata
  core/thin/restore_pipeline.h:thin
  core/check/context.h:check
  core/check/tree_walk.h:check
  core/check/layout.h:check
  core/check/space_maps.h:check
  core/pack/partial_file.h:pack)

set(violations 0)

# A file of `layer` ("" outside core/) including another layer's private header.
function(check_private f layer)
  file(STRINGS "${f}" includes REGEX "^#include \"core/")
  foreach(line IN LISTS includes)
    foreach(entry IN LISTS private_headers)
      string(REPLACE ":" ";" pair "${entry}")
      list(GET pair 0 header)
      list(GET pair 1 owner)
      if(line STREQUAL "#include \"${header}\"" AND NOT layer STREQUAL owner)
        file(RELATIVE_PATH rel "${ROOT}" "${f}")
        message("${rel}: ${header} is private to layer ${owner}")
        math(EXPR v "${violations} + 1")
        set(violations ${v} PARENT_SCOPE)
      endif()
    endforeach()
  endforeach()
endfunction()

function(check_dir dir layer)
  file(GLOB files "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.cc")
  if(NOT files)
    message(SEND_ERROR "no sources in ${dir}: the layer table is out of date")
  endif()
  foreach(f IN LISTS files)
    check_private("${f}" "${layer}")
    file(STRINGS "${f}" includes REGEX "^#include \"(core/[a-z_]+|sim)/")
    foreach(line IN LISTS includes)
      string(REGEX MATCH "\"(core/([a-z_]+)|sim)/" m "${line}")
      if(CMAKE_MATCH_2)
        set(target "${CMAKE_MATCH_2}")
      else()
        set(target sim)
      endif()
      if(NOT target IN_LIST allowed_${layer})
        file(RELATIVE_PATH rel "${ROOT}" "${f}")
        message("${rel}: layer ${layer} may not include ${line}")
        math(EXPR v "${violations} + 1")
        set(violations ${v} PARENT_SCOPE)
      endif()
    endforeach()
  endforeach()
  set(violations ${violations} PARENT_SCOPE)  # check_private's, too
endfunction()

foreach(dir common io block pdata tm sm btree array xml seam thin cache check pack)
  check_dir(core/${dir} ${layer_of_${dir}})
endforeach()
check_dir(sim sim)
foreach(dir scenarios tools bench properties testing)
  file(GLOB_RECURSE outer "${ROOT}/${dir}/*.h" "${ROOT}/${dir}/*.cc")
  foreach(f IN LISTS outer)
    check_private("${f}" "")
  endforeach()
endforeach()

if(violations GREATER 0)
  message(FATAL_ERROR "${violations} include(s) across the layer drawing")
endif()
message("layers: every include follows the drawing")
