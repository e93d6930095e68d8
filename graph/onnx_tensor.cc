#include "graph/onnx_tensor.h"

#include <google/protobuf/io/coded_stream.h>

#include <cmath>

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

namespace {

// The TensorProto of a float32 tensor of 8-bit integers, as INT8 or UINT8.
absl::StatusOr<std::string> EightBitProtoBytes(const Tensor& tensor, const std::string& name,
                                               const std::string& type) {
  const bool is_signed = type == "INT8";
  if (!is_signed && type != "UINT8") {
    return absl::InvalidArgumentError(
        absl::StrCat("8-bit type must be INT8 or UINT8, got '", type, "'"));
  }
  if (tensor.dtype() != DType::kFloat32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an ", type, " output must be held in float32, got ", DTypeName(tensor.dtype())));
  }
  const float lo = is_signed ? -128.0f : 0.0f, hi = is_signed ? 127.0f : 255.0f;
  std::string bytes(static_cast<size_t>(tensor.numel()), '\0');
  const float* v = tensor.data<float>();
  for (int64_t i = 0; i < tensor.numel(); ++i) {
    if (!(v[i] >= lo && v[i] <= hi) || v[i] != std::trunc(v[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("element ", i, " (", v[i], ") is no integer in ", type, "'s range"));
    }
    bytes[i] = static_cast<char>(static_cast<int>(v[i]) & 0xff);
  }
  onnx::TensorProto proto;
  proto.set_name(name);
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  proto.set_data_type(is_signed ? onnx::TensorProto::INT8 : onnx::TensorProto::UINT8);
  proto.set_raw_data(std::move(bytes));
  return proto.SerializeAsString();
}

}  // namespace

absl::Status WriteTensorProtoFile(const Tensor& tensor, const std::string& path,
                                  const std::string& name, const std::string& eight_bit_type) {
  if (eight_bit_type.empty())
    return internal::WriteFileBytes(path, TensorToProtoBytes(tensor, name));
  absl::StatusOr<std::string> bytes = EightBitProtoBytes(tensor, name, eight_bit_type);
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "': ", bytes.status().message()));
  }
  return internal::WriteFileBytes(path, *bytes);
}

}  // namespace structprune
