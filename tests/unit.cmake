# One gtest binary per module.
function(skyway_unit_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE skyway_s3 GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${ROCKSDB_INCLUDE_DIR})
  gtest_discover_tests(${name} PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
endfunction()

skyway_unit_test(common_test ${CMAKE_CURRENT_SOURCE_DIR}/common/common_test.cc)
skyway_unit_test(sigv4_test ${CMAKE_CURRENT_SOURCE_DIR}/sigv4/sigv4_test.cc)
skyway_unit_test(http_test ${CMAKE_CURRENT_SOURCE_DIR}/http/http_test.cc)
skyway_unit_test(store_test ${CMAKE_CURRENT_SOURCE_DIR}/store/store_test.cc)
skyway_unit_test(s3_test ${CMAKE_CURRENT_SOURCE_DIR}/s3/s3_test.cc)
