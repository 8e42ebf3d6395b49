# SPDX-License-Identifier: GPL-2.0-or-later
# pdsim_add_test(NAME name LABEL label SOURCES ... [LIBS ...])
# One test executable, discovered test by test, every test carrying the label.
function(pdsim_add_test)
  cmake_parse_arguments(T "" "NAME;LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} pdsim_test_support GTest::gtest_main pdsim_options)
  gtest_discover_tests(${T_NAME}
    PROPERTIES LABELS "${T_LABEL}" TIMEOUT ${T_TIMEOUT}
    DISCOVERY_TIMEOUT 60)
endfunction()
