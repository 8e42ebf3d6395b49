# SPDX-License-Identifier: GPL-2.0-or-later
# cmake -DBUILD_DIR=<build> -P link_probe.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target layering_check_alone
  RESULT_VARIABLE control_rc OUTPUT_VARIABLE control_out ERROR_VARIABLE control_out)
if(NOT control_rc EQUAL 0)
  message(FATAL_ERROR "the control program (pdsim_check alone) does not build:\n${control_out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target layering_check_reaches_pdata
  RESULT_VARIABLE probe_rc OUTPUT_VARIABLE probe_out ERROR_VARIABLE probe_out)
if(probe_rc EQUAL 0)
  message(FATAL_ERROR "pdsim_check reaches pdata: a program linked with it alone called "
                      "sm::bitmap_validator() and linked")
endif()
if(NOT probe_out MATCHES "undefined reference[^\n]*bitmap_validator")
  message(FATAL_ERROR "the probe failed, but not with the undefined pdata reference:\n${probe_out}")
endif()
message("pdsim_check cannot reach pdata: the probe's call to sm::bitmap_validator() is undefined")
