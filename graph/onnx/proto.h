// Protobuf glue shared by the ONNX importer and exporter: bounded parsing, TensorProto <-> Tensor
// and typed attribute readers. Internal: only graph/onnx*.cc include it (it pulls in the ONNX
// protobuf headers, which the public headers never expose).
#ifndef STRUCTPRUNE_GRAPH_ONNX_PROTO_H_
#define STRUCTPRUNE_GRAPH_ONNX_PROTO_H_

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"

namespace structprune::internal {

// Files and byte strings above this size are refused (protobuf's own 2 GiB ceiling).
inline constexpr int64_t kMaxOnnxBytes = (int64_t{1} << 31) - 1;

// The whole file; NotFound when it does not exist, InvalidArgument when it is not a regular
// file or exceeds kMaxOnnxBytes.
absl::StatusOr<std::string> ReadFileBytes(const std::string& path);
// Writes `bytes` to `path`; InvalidArgument naming the path when it cannot.
absl::Status WriteFileBytes(const std::string& path, absl::string_view bytes);

// Parses a ModelProto with protobuf's recursion limit and kMaxOnnxBytes. InvalidArgument
// "not a valid ONNX model: ..." for empty, truncated or garbage bytes and for a model without
// ir_version or graph.
absl::StatusOr<std::unique_ptr<onnx::ModelProto>> ParseModelProto(absl::string_view bytes);

// TensorProto -> Tensor: FLOAT/DOUBLE/FLOAT16 -> float32, the integer types -> int64, BOOL ->
// bool. InvalidArgument for negative dims or a data size that disagrees with the dims;
// Unimplemented for external data, segments, strings and other types. Messages start with
// `what` (e.g. "initializer 'fc.weight'").
absl::StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto, absl::string_view what);
// Tensor -> TensorProto (raw_data, little-endian) named `name`.
void TensorToProto(const Tensor& tensor, const std::string& name, onnx::TensorProto& proto);
// "FLOAT", "INT64", ... for messages.
std::string TensorProtoTypeName(int32_t data_type);
// The dtype an ONNX element type is held in (floats -> float32, integers -> int64, BOOL ->
// bool); nullopt for types we do not read (STRING, complex, ...).
std::optional<DType> DTypeForTensorProtoType(int32_t data_type);
// The TensorProto element type of `dtype` (FLOAT, BOOL, INT64).
int32_t TensorProtoTypeOf(DType dtype);

// Input / output `i` of `node`; "" (an absent optional value) when it has fewer. The importer
// reads nodes only through these: a hostile file's node may lack any input or output.
const std::string& In(const onnx::NodeProto& node, int i);
const std::string& Out(const onnx::NodeProto& node, int i);

// "node '/seq/seq.0/Gemm' (Gemm)", the prefix of every importer error about a node.
std::string NodeLabel(const onnx::NodeProto& node);

// Attribute readers: `default_value` when absent; InvalidArgument naming the node and the
// attribute when it has another type.
const onnx::AttributeProto* FindAttr(const onnx::NodeProto& node, absl::string_view name);
absl::StatusOr<int64_t> IntAttr(const onnx::NodeProto& node, absl::string_view name,
                                int64_t default_value);
absl::StatusOr<float> FloatAttr(const onnx::NodeProto& node, absl::string_view name,
                                float default_value);
absl::StatusOr<std::vector<int64_t>> IntsAttr(const onnx::NodeProto& node, absl::string_view name,
                                              std::vector<int64_t> default_value);
absl::StatusOr<std::string> StringAttr(const onnx::NodeProto& node, absl::string_view name,
                                       std::string default_value);
absl::StatusOr<std::vector<std::string>> StringsAttr(const onnx::NodeProto& node,
                                                     absl::string_view name);

// Attribute writers for the exporter.
void AddIntAttr(onnx::NodeProto& node, const std::string& name, int64_t value);
void AddFloatAttr(onnx::NodeProto& node, const std::string& name, float value);
void AddIntsAttr(onnx::NodeProto& node, const std::string& name,
                 const std::vector<int64_t>& values);
void AddStringAttr(onnx::NodeProto& node, const std::string& name, const std::string& value);

}  // namespace structprune::internal

#endif  // STRUCTPRUNE_GRAPH_ONNX_PROTO_H_
