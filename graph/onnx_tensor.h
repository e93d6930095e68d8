// Tensors in ONNX's TensorProto form: the test-data files (input_0.pb, output_0.pb) that ONNX
// and ONNX Runtime use, read and written without exposing protobuf types.
#ifndef STRUCTPRUNE_GRAPH_ONNX_TENSOR_H_
#define STRUCTPRUNE_GRAPH_ONNX_TENSOR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/tensor.h"

namespace structprune {

// Reads a serialized TensorProto. FLOAT, DOUBLE and FLOAT16 become float32, the integer types
// int64, BOOL bool. NotFound when the file does not exist; InvalidArgument "not a valid
// TensorProto: ..." for empty, truncated or inconsistent data (dims vs data size);
// Unimplemented for external data and element types such as STRING.
absl::StatusOr<Tensor> ReadTensorProtoFile(const std::string& path);
absl::StatusOr<Tensor> TensorFromProtoBytes(absl::string_view bytes);

// Writes `tensor` as a TensorProto (raw little-endian data) with an optional `name`.
// `eight_bit_type` "INT8" or "UINT8" writes a float32 tensor of 8-bit integers (an
// OnnxModel's 8-bit output) as that type. InvalidArgument naming the path when the file cannot
// be written, or naming the element that is no integer of the type.
absl::Status WriteTensorProtoFile(const Tensor& tensor, const std::string& path,
                                  const std::string& name = "",
                                  const std::string& eight_bit_type = "");
std::string TensorToProtoBytes(const Tensor& tensor, const std::string& name = "");

}  // namespace structprune

#endif  // STRUCTPRUNE_GRAPH_ONNX_TENSOR_H_
