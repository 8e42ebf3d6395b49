# SPDX-License-Identifier: GPL-2.0-or-later
# Where the kernel engine's C code comes from (kernel/CMakeLists.txt builds it).
#
#   default:                 Debian's linux-source-6.1 package, /usr/src/linux-source-6.1.tar.xz;
#                            the 28 files are extracted at configure time into the build folder.
#   -DPDSIM_KERNEL_SRC=DIR:  any kernel tree (a kernel engineer's own branch), used in place.
#   -DPDSIM_KERNEL_ENGINE=OFF: no kernel engine (`--engine kernel` then says so).
#
# The kernel's files are never copied into this repository.
option(PDSIM_KERNEL_ENGINE "Build the kernel's persistent-data code as a second engine" ON)
set(PDSIM_KERNEL_SRC "" CACHE PATH "Kernel source tree for the kernel engine (default: Debian's linux-source-6.1 tarball)")
set(PDSIM_KERNEL_TARBALL "/usr/src/linux-source-6.1.tar.xz" CACHE FILEPATH "Kernel source tarball used when PDSIM_KERNEL_SRC is empty")

set(PDSIM_KERNEL_FILES
  drivers/md/persistent-data/dm-array.c drivers/md/persistent-data/dm-array.h
  drivers/md/persistent-data/dm-bitset.c drivers/md/persistent-data/dm-bitset.h
  drivers/md/persistent-data/dm-block-manager.c drivers/md/persistent-data/dm-block-manager.h
  drivers/md/persistent-data/dm-btree.c drivers/md/persistent-data/dm-btree.h
  drivers/md/persistent-data/dm-btree-internal.h drivers/md/persistent-data/dm-btree-remove.c
  drivers/md/persistent-data/dm-btree-spine.c drivers/md/persistent-data/dm-persistent-data-internal.h
  drivers/md/persistent-data/dm-space-map-common.c drivers/md/persistent-data/dm-space-map-common.h
  drivers/md/persistent-data/dm-space-map-disk.c drivers/md/persistent-data/dm-space-map-disk.h
  drivers/md/persistent-data/dm-space-map-metadata.c drivers/md/persistent-data/dm-space-map-metadata.h
  drivers/md/persistent-data/dm-space-map.h
  drivers/md/persistent-data/dm-transaction-manager.c drivers/md/persistent-data/dm-transaction-manager.h
  drivers/md/dm-thin-metadata.c drivers/md/dm-thin-metadata.h
  drivers/md/dm-cache-metadata.c drivers/md/dm-cache-metadata.h
  drivers/md/dm-cache-block-types.h drivers/md/dm-cache-policy-internal.h drivers/md/dm-cache-policy.h
  Makefile)

set(PDSIM_HAVE_KERNEL OFF)
set(PDSIM_KERNEL_TREE "")
set(PDSIM_KERNEL_ORIGIN "")
if(PDSIM_KERNEL_ENGINE)
  if(PDSIM_KERNEL_SRC)
    get_filename_component(PDSIM_KERNEL_TREE "${PDSIM_KERNEL_SRC}" ABSOLUTE)
    set(PDSIM_KERNEL_ORIGIN "kernel tree ${PDSIM_KERNEL_TREE}")
  elseif(EXISTS "${PDSIM_KERNEL_TARBALL}")
    set(PDSIM_KERNEL_TREE "${CMAKE_BINARY_DIR}/kernel-src")
    set(stamp "${PDSIM_KERNEL_TREE}/.extracted-from")
    file(TIMESTAMP "${PDSIM_KERNEL_TARBALL}" tar_time "%s" UTC)
    set(want "${PDSIM_KERNEL_TARBALL} ${tar_time}")
    set(have "")
    if(EXISTS "${stamp}")
      file(READ "${stamp}" have)
    endif()
    if(NOT have STREQUAL want)
      message(STATUS "Kernel engine: extracting ${PDSIM_KERNEL_TARBALL} (the persistent-data files only)")
      file(REMOVE_RECURSE "${PDSIM_KERNEL_TREE}")
      file(MAKE_DIRECTORY "${PDSIM_KERNEL_TREE}")
      set(members "")
      foreach(f IN LISTS PDSIM_KERNEL_FILES)
        list(APPEND members "linux-source-6.1/${f}")
      endforeach()
      execute_process(COMMAND tar -xJf "${PDSIM_KERNEL_TARBALL}" --strip-components=1 -C "${PDSIM_KERNEL_TREE}" ${members}
                      RESULT_VARIABLE rc ERROR_VARIABLE err)
      if(NOT rc EQUAL 0)
        message(FATAL_ERROR "Kernel engine: extracting ${PDSIM_KERNEL_TARBALL} failed: ${err}")
      endif()
      file(WRITE "${stamp}" "${want}")
    endif()
    set(PDSIM_KERNEL_ORIGIN "Debian linux-source-6.1 (${PDSIM_KERNEL_TARBALL})")
  else()
    message(STATUS "Kernel engine: no kernel tree (${PDSIM_KERNEL_TARBALL} is missing and PDSIM_KERNEL_SRC is empty); not built")
  endif()
endif()

if(PDSIM_KERNEL_TREE)
  foreach(f IN LISTS PDSIM_KERNEL_FILES)
    if(NOT EXISTS "${PDSIM_KERNEL_TREE}/${f}")
      message(FATAL_ERROR "Kernel engine: ${PDSIM_KERNEL_TREE} has no ${f}; is it a kernel tree?")
    endif()
  endforeach()
  file(STRINGS "${PDSIM_KERNEL_TREE}/Makefile" kv REGEX "^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION) *=")
  set(kver "")
  foreach(line IN LISTS kv)
    string(REGEX REPLACE "^[A-Z]+ *= *" "" val "${line}")
    if(line MATCHES "^VERSION")
      set(kver "${val}")
    elseif(line MATCHES "^EXTRAVERSION")
      set(kver "${kver}${val}")
    else()
      set(kver "${kver}.${val}")
    endif()
  endforeach()
  set(PDSIM_KERNEL_VERSION "${kver}")
  set(PDSIM_HAVE_KERNEL ON)
  message(STATUS "Kernel engine: Linux ${PDSIM_KERNEL_VERSION} from ${PDSIM_KERNEL_ORIGIN}")
endif()
