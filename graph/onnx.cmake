# ONNX import/export: graph/onnx_{import,export,tensor}.cc and the protobuf glue in graph/onnx/.
# Uses the distribution's protobuf and ONNX protobuf library (libprotobuf-dev, libonnx-dev).
# Include from the top-level CMakeLists.txt AFTER add_library(structprune ...):
#   include(graph/onnx.cmake)
# The ONNX targets carry ONNX_ML=1 and ONNX_NAMESPACE=onnx (onnx/onnx_pb.h needs ONNX_ML: the
# package ships only onnx-ml.pb.h). They stay PRIVATE: no public header includes protobuf or
# ONNX headers, and graph/onnx/ is not installed.
find_package(Protobuf REQUIRED)  # before ONNX: onnx_proto links protobuf::libprotobuf
find_package(ONNX REQUIRED)      # targets onnx (onnx::checker, used by the exporter) and onnx_proto

set(SP_ONNX_DIR ${CMAKE_CURRENT_LIST_DIR})
target_sources(sp_graph PRIVATE
  ${SP_ONNX_DIR}/onnx_tensor.cc
  ${SP_ONNX_DIR}/onnx_import.cc
  ${SP_ONNX_DIR}/onnx_export.cc
  ${SP_ONNX_DIR}/onnx/proto.cc
  ${SP_ONNX_DIR}/onnx/scope_names.cc
  ${SP_ONNX_DIR}/onnx/onnx_graph.cc
  ${SP_ONNX_DIR}/onnx/eight_bit_values.cc
  ${SP_ONNX_DIR}/onnx/op_versions.cc
  ${SP_ONNX_DIR}/onnx/constant_inputs.cc
  ${SP_ONNX_DIR}/onnx/constant_folding.cc
  ${SP_ONNX_DIR}/onnx/shape_inference.cc
  ${SP_ONNX_DIR}/onnx/import_patterns.cc
  ${SP_ONNX_DIR}/onnx/import_table.cc
  ${SP_ONNX_DIR}/onnx/import_layers.cc
  ${SP_ONNX_DIR}/onnx/import_norms.cc
  ${SP_ONNX_DIR}/onnx/import_activations.cc
  ${SP_ONNX_DIR}/onnx/import_lstm.cc
  ${SP_ONNX_DIR}/onnx/export_writer.cc
  ${SP_ONNX_DIR}/onnx/export_ops.cc)
target_link_libraries(sp_graph PRIVATE onnx onnx_proto protobuf::libprotobuf)
target_link_libraries(structprune PRIVATE onnx onnx_proto protobuf::libprotobuf)
