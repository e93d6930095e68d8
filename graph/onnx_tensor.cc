#include "graph/onnx_tensor.h"

#include <google/protobuf/io/coded_stream.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "graph/onnx/proto.h"

namespace structprune {

absl::StatusOr<Tensor> TensorFromProtoBytes(absl::string_view bytes) {
  constexpr absl::string_view kNotTensor = "not a valid TensorProto: ";
  if (bytes.empty()) return absl::InvalidArgumentError(absl::StrCat(kNotTensor, "no bytes"));
  if (static_cast<int64_t>(bytes.size()) > internal::kMaxOnnxBytes) {
    return absl::InvalidArgumentError(absl::StrCat(kNotTensor, "too large"));
  }
  onnx::TensorProto proto;
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                static_cast<int>(bytes.size()));
  stream.SetTotalBytesLimit(static_cast<int>(internal::kMaxOnnxBytes));
  if (!proto.ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    return absl::InvalidArgumentError(
        absl::StrCat(kNotTensor, "protobuf parsing failed (truncated or another message)"));
  }
  if (!proto.has_data_type() || proto.data_type() == onnx::TensorProto::UNDEFINED) {
    return absl::InvalidArgumentError(absl::StrCat(kNotTensor, "data_type is missing"));
  }
  const std::string what =
      proto.name().empty() ? std::string("tensor") : absl::StrCat("tensor '", proto.name(), "'");
  absl::StatusOr<Tensor> t = internal::TensorFromProto(proto, what);
  if (!t.ok() && t.status().code() == absl::StatusCode::kInvalidArgument) {
    return absl::InvalidArgumentError(absl::StrCat(kNotTensor, t.status().message()));
  }
  return t;
}

absl::StatusOr<Tensor> ReadTensorProtoFile(const std::string& path) {
  SP_ASSIGN_OR_RETURN(std::string bytes, internal::ReadFileBytes(path));
  absl::StatusOr<Tensor> t = TensorFromProtoBytes(bytes);
  if (!t.ok()) {
    return absl::Status(t.status().code(), absl::StrCat("'", path, "': ", t.status().message()));
  }
  return t;
}

std::string TensorToProtoBytes(const Tensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  internal::TensorToProto(tensor, name, proto);
  return proto.SerializeAsString();
}

absl::Status WriteTensorProtoFile(const Tensor& tensor, const std::string& path,
                                  const std::string& name) {
  return internal::WriteFileBytes(path, TensorToProtoBytes(tensor, name));
}

}  // namespace structprune
