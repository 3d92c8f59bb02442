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
skyway_unit_test(direct_test ${CMAKE_CURRENT_SOURCE_DIR}/client/direct_test.cc)
target_link_libraries(direct_test PRIVATE skyway_client)
skyway_unit_test(vector_test ${CMAKE_CURRENT_SOURCE_DIR}/vector/vector_test.cc)
target_link_libraries(vector_test PRIVATE skyway_vector)
target_include_directories(vector_test PRIVATE ${HNSWLIB_INCLUDE_DIR})
skyway_unit_test(vectordb_test ${CMAKE_CURRENT_SOURCE_DIR}/vectordb/filter_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/vectordb/vectordb_test.cc ${CMAKE_CURRENT_SOURCE_DIR}/vectordb/collection_test.cc)
target_link_libraries(vectordb_test PRIVATE skyway_vectordb)
skyway_unit_test(cagra_test ${CMAKE_CURRENT_SOURCE_DIR}/vector/cagra_test.cc)
target_link_libraries(cagra_test PRIVATE skyway_vector)
# The GPU kernels on the CPU emulation (cuda_emu.h): no device needed, so label unit.
skyway_unit_test(kernels_test ${CMAKE_CURRENT_SOURCE_DIR}/vector/kernels_test.cc)
target_link_libraries(kernels_test PRIVATE skyway_vector)
# The GPU code on an emulated device (vector/emu): device.cu, device_search.cu and
# directpath's device_memory.cc compiled as C++ against a CPU CUDA runtime. Test executables
# link these objects ahead of the libraries, whose own device code (real or none) is then not
# pulled from the archives. gpu_test and gpu_direct_test run over them everywhere: label unit.
add_library(skyway_gpu_emu OBJECT ${CMAKE_CURRENT_SOURCE_DIR}/vector/emu/device_emu.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/vector/emu/device_search_emu.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/vector/emu/device_memory_emu.cc)
target_include_directories(skyway_gpu_emu BEFORE PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/vector/emu
                           ${CMAKE_CURRENT_SOURCE_DIR}/vector)
target_compile_definitions(skyway_gpu_emu PRIVATE SKYWAY_CUDA_EMULATION=1)
target_link_libraries(skyway_gpu_emu PRIVATE skyway_common faiss OpenMP::OpenMP_CXX)
add_executable(gpu_emu_test ${CMAKE_CURRENT_SOURCE_DIR}/vector/gpu_test.cc $<TARGET_OBJECTS:skyway_gpu_emu>)
target_compile_definitions(gpu_emu_test PRIVATE SKYWAY_GPU_EMULATION=1)
target_link_libraries(gpu_emu_test PRIVATE skyway_vector GTest::gtest GTest::gtest_main)
gtest_discover_tests(gpu_emu_test TEST_PREFIX emu. PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
add_executable(gpu_direct_emu_test ${CMAKE_CURRENT_SOURCE_DIR}/client/gpu_direct_test.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/vectordb/gpu_build_test.cc $<TARGET_OBJECTS:skyway_gpu_emu>)
target_include_directories(gpu_direct_emu_test BEFORE PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/vector/emu
                           ${CMAKE_CURRENT_SOURCE_DIR}/vector)
target_include_directories(gpu_direct_emu_test PRIVATE ${ROCKSDB_INCLUDE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/client)
target_compile_definitions(gpu_direct_emu_test PRIVATE SKYWAY_CUDA_EMULATION=1 SKYWAY_GPU_EMULATION=1)
target_link_libraries(gpu_direct_emu_test PRIVATE skyway_s3 skyway_client skyway_vectordb
                      GTest::gtest GTest::gtest_main)
gtest_discover_tests(gpu_direct_emu_test TEST_PREFIX emu. PROPERTIES LABELS unit DISCOVERY_TIMEOUT 60)
# GPU kernels against the CPU reference: label gpu, and every test skips without a device.
add_executable(gpu_test ${CMAKE_CURRENT_SOURCE_DIR}/vector/gpu_test.cc)
target_link_libraries(gpu_test PRIVATE skyway_vector GTest::gtest GTest::gtest_main)
gtest_discover_tests(gpu_test PROPERTIES LABELS gpu DISCOVERY_TIMEOUT 60)
# The direct path into GPU memory, and a segment build fed through it (label gpu; skips without
# a device): only with CUDA.
if(SKYWAY_CUDA)
  add_executable(gpu_direct_test ${CMAKE_CURRENT_SOURCE_DIR}/client/gpu_direct_test.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/vectordb/gpu_build_test.cc)
  target_link_libraries(gpu_direct_test PRIVATE skyway_s3 skyway_client skyway_vectordb
                        CUDA::cudart_static GTest::gtest GTest::gtest_main)
  target_include_directories(gpu_direct_test PRIVATE ${ROCKSDB_INCLUDE_DIR} ${CUDAToolkit_INCLUDE_DIRS}
                             ${CMAKE_CURRENT_SOURCE_DIR}/client)
  gtest_discover_tests(gpu_direct_test PROPERTIES LABELS gpu DISCOVERY_TIMEOUT 60)
endif()
