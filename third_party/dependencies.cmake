# Every dependency comes from the distribution's packages (scripts/install_deps.sh).
find_package(absl REQUIRED)
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(dnnl REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(Threads REQUIRED)
if(SP_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(SP_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Warnings for our own code. -Wno-restrict: a GCC 12 false positive inside std::string
# (PR105651); clang has no such option and would warn about it.
set(SP_WARNINGS -Wall -Wextra -Wno-unused-parameter $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)

# Object libraries that go into libstructprune share these usage requirements.
function(sp_object_library name)
  add_library(${name} OBJECT ${ARGN})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC absl::status absl::statusor absl::strings absl::str_format
    absl::inlined_vector absl::flat_hash_map absl::span Eigen3::Eigen DNNL::dnnl)
  target_compile_options(${name} PRIVATE ${SP_WARNINGS})
endfunction()
