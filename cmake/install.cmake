# `cmake --install` puts headers, the library and a CMake package config under the prefix,
# so another project does find_package(structprune) and links structprune::structprune.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS structprune EXPORT structpruneTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# Public headers: everything but the oneDNN/protobuf glue, which stays private.
foreach(dir core graph ops pruning)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION include/structprune/${dir}
          FILES_MATCHING PATTERN "*.h" PATTERN "*.def" PATTERN "onednn" EXCLUDE PATTERN "onnx" EXCLUDE)
endforeach()
install(EXPORT structpruneTargets NAMESPACE structprune::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/structprune)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/structpruneConfig.cmake.in
  ${PROJECT_BINARY_DIR}/structpruneConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/structprune)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/structpruneConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/structpruneConfig.cmake
              ${PROJECT_BINARY_DIR}/structpruneConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/structprune)
