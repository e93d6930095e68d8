#include "graph/onnx/proto.h"

#include <google/protobuf/io/coded_stream.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status_macros.h"

namespace structprune::internal {
namespace {

// raw_data is little-endian by the ONNX spec; we copy it as is.
static_assert(std::endian::native == std::endian::little,
              "ONNX raw_data needs a little-endian host");

constexpr int kRecursionLimit = 64;  // ModelProto nests graphs in attributes (If/Loop bodies)

absl::Status Invalid(absl::string_view what, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", message));
}

// IEEE half -> float, including subnormals, infinities and NaN.
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400u) == 0);
      bits = sign | static_cast<uint32_t>(127 - 15 - e) << 23 | (mantissa & 0x3ffu) << 13;
    }
  } else if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | mantissa << 13;
  } else {
    bits = sign | (exponent + 127 - 15) << 23 | mantissa << 13;
  }
  return std::bit_cast<float>(bits);
}

// Size in bytes of one raw_data element; 0 for types we do not read.
size_t RawElementSize(int32_t data_type) {
  using T = onnx::TensorProto;
  switch (data_type) {
    case T::FLOAT:
    case T::INT32:
    case T::UINT32:
      return 4;
    case T::DOUBLE:
    case T::INT64:
    case T::UINT64:
      return 8;
    case T::FLOAT16:
    case T::INT16:
    case T::UINT16:
      return 2;
    case T::INT8:
    case T::UINT8:
    case T::BOOL:
      return 1;
    default:
      return 0;
  }
}

// Reads element i of raw little-endian data of `data_type` as double / int64.
template <typename T>
T LoadRaw(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

double RawAsDouble(int32_t data_type, const char* p) {
  using T = onnx::TensorProto;
  switch (data_type) {
    case T::FLOAT:
      return LoadRaw<float>(p);
    case T::DOUBLE:
      return LoadRaw<double>(p);
    case T::FLOAT16:
      return HalfToFloat(LoadRaw<uint16_t>(p));
    default:
      return 0.0;
  }
}

int64_t RawAsInt(int32_t data_type, const char* p) {
  using T = onnx::TensorProto;
  switch (data_type) {
    case T::INT64:
      return LoadRaw<int64_t>(p);
    case T::UINT64:
      return static_cast<int64_t>(LoadRaw<uint64_t>(p));
    case T::INT32:
      return LoadRaw<int32_t>(p);
    case T::UINT32:
      return LoadRaw<uint32_t>(p);
    case T::INT16:
      return LoadRaw<int16_t>(p);
    case T::UINT16:
      return LoadRaw<uint16_t>(p);
    case T::INT8:
      return LoadRaw<int8_t>(p);
    case T::UINT8:
    case T::BOOL:
      return LoadRaw<uint8_t>(p);
    default:
      return 0;
  }
}

}  // namespace

absl::StatusOr<std::string> ReadFileBytes(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) {
    return absl::NotFoundError(absl::StrCat("cannot open '", path, "': no such file"));
  }
  if (!std::filesystem::is_regular_file(status)) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "' is not a regular file"));
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "'"));
  if (size > static_cast<uintmax_t>(kMaxOnnxBytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", path, "' is ", size, " bytes; the limit is ", kMaxOnnxBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open '", path, "'"));
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  if (in.gcount() != static_cast<std::streamsize>(size)) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read '", path, "'"));
  }
  return bytes;
}

absl::Status WriteFileBytes(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::InvalidArgumentError(absl::StrCat("cannot write '", path, "'"));
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InvalidArgumentError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<onnx::ModelProto>> ParseModelProto(absl::string_view bytes) {
  constexpr absl::string_view kNotModel = "not a valid ONNX model";
  if (bytes.empty()) return Invalid(kNotModel, "the file is empty");
  if (static_cast<int64_t>(bytes.size()) > kMaxOnnxBytes) {
    return Invalid(kNotModel, absl::StrCat(bytes.size(), " bytes exceed the limit"));
  }
  auto model = std::make_unique<onnx::ModelProto>();
  google::protobuf::io::CodedInputStream stream(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                static_cast<int>(bytes.size()));
  stream.SetTotalBytesLimit(static_cast<int>(kMaxOnnxBytes));
  stream.SetRecursionLimit(kRecursionLimit);
  if (!model->ParseFromCodedStream(&stream) || !stream.ConsumedEntireMessage()) {
    return Invalid(kNotModel, "protobuf parsing failed (truncated or not a ModelProto)");
  }
  if (model->ir_version() <= 0) return Invalid(kNotModel, "ir_version is missing");
  if (!model->has_graph()) return Invalid(kNotModel, "the model has no graph");
  return model;
}

std::optional<DType> DTypeForTensorProtoType(int32_t data_type) {
  using T = onnx::TensorProto;
  switch (data_type) {
    case T::FLOAT:
    case T::DOUBLE:
    case T::FLOAT16:
      return DType::kFloat32;
    case T::BOOL:
      return DType::kBool;
    case T::INT64:
    case T::INT32:
    case T::INT16:
    case T::INT8:
    case T::UINT64:
    case T::UINT32:
    case T::UINT16:
    case T::UINT8:
      return DType::kInt64;
    default:
      return std::nullopt;
  }
}

std::string TensorProtoTypeName(int32_t data_type) {
  if (onnx::TensorProto::DataType_IsValid(data_type)) {
    return onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(data_type));
  }
  return absl::StrCat("type ", data_type);
}

absl::StatusOr<Tensor> TensorFromProto(const onnx::TensorProto& proto, absl::string_view what) {
  using T = onnx::TensorProto;
  if (proto.data_location() == T::EXTERNAL || proto.external_data_size() > 0) {
    return absl::UnimplementedError(absl::StrCat(what, ": external tensor data is not supported"));
  }
  if (proto.has_segment()) {
    return absl::UnimplementedError(absl::StrCat(what, ": segmented tensors are not supported"));
  }
  Shape shape;
  int64_t numel = 1;
  for (int64_t d : proto.dims()) {
    if (d < 0) return Invalid(what, absl::StrCat("negative dimension ", d));
    if (d > 0 && numel > std::numeric_limits<int64_t>::max() / 16 / d) {
      return Invalid(what, "too many elements");
    }
    numel *= d;
    shape.push_back(d);
  }
  const int32_t type = proto.data_type();
  const std::optional<DType> held = DTypeForTensorProtoType(type);
  if (!held) {
    return absl::UnimplementedError(
        absl::StrCat(what, ": element type ", TensorProtoTypeName(type), " is not supported"));
  }
  const DType dtype = *held;
  // Count the elements actually present before allocating: the file bounds the allocation.
  int64_t present;
  const bool raw = proto.has_raw_data();
  if (raw) {
    const size_t elem = RawElementSize(type);
    if (proto.raw_data().size() % elem != 0) {
      return Invalid(what, absl::StrCat("raw_data has ", proto.raw_data().size(),
                                        " bytes, not a multiple of ", elem));
    }
    present = static_cast<int64_t>(proto.raw_data().size() / elem);
  } else {
    switch (type) {
      case T::FLOAT:
        present = proto.float_data_size();
        break;
      case T::DOUBLE:
        present = proto.double_data_size();
        break;
      case T::INT64:
        present = proto.int64_data_size();
        break;
      case T::UINT64:
      case T::UINT32:
        present = proto.uint64_data_size();
        break;
      default:
        present = proto.int32_data_size();
        break;  // FLOAT16, BOOL, small ints
    }
  }
  if (present != numel) {
    return Invalid(what, absl::StrCat("dims ", ShapeToString(shape), " hold ", numel,
                                      " elements but the data has ", present));
  }
  Tensor t = Tensor::Zeros(shape, dtype);
  const char* bytes = raw ? proto.raw_data().data() : nullptr;
  const size_t elem = RawElementSize(type);
  for (int64_t i = 0; i < numel; ++i) {
    const char* p = raw ? bytes + i * elem : nullptr;
    switch (dtype) {
      case DType::kFloat32: {
        double v;
        if (raw) {
          v = RawAsDouble(type, p);
        } else if (type == T::FLOAT) {
          v = proto.float_data(static_cast<int>(i));
        } else if (type == T::DOUBLE) {
          v = proto.double_data(static_cast<int>(i));
        } else {
          v = HalfToFloat(static_cast<uint16_t>(proto.int32_data(static_cast<int>(i))));
        }
        t.data<float>()[i] = static_cast<float>(v);
        break;
      }
      case DType::kInt64: {
        int64_t v;
        if (raw) {
          v = RawAsInt(type, p);
        } else if (type == T::INT64) {
          v = proto.int64_data(static_cast<int>(i));
        } else if (type == T::UINT64 || type == T::UINT32) {
          v = static_cast<int64_t>(proto.uint64_data(static_cast<int>(i)));
        } else {
          v = proto.int32_data(static_cast<int>(i));
        }
        t.data<int64_t>()[i] = v;
        break;
      }
      case DType::kBool:
        t.data<bool>()[i] =
            raw ? RawAsInt(type, p) != 0 : proto.int32_data(static_cast<int>(i)) != 0;
        break;
    }
  }
  return t;
}

int32_t TensorProtoTypeOf(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return onnx::TensorProto::FLOAT;
    case DType::kInt64:
      return onnx::TensorProto::INT64;
    case DType::kBool:
      return onnx::TensorProto::BOOL;
  }
  return onnx::TensorProto::UNDEFINED;
}

void TensorToProto(const Tensor& tensor, const std::string& name, onnx::TensorProto& proto) {
  proto.Clear();
  proto.set_name(name);
  for (int64_t d : tensor.shape()) proto.add_dims(d);
  proto.set_data_type(TensorProtoTypeOf(tensor.dtype()));
  proto.set_raw_data(std::string(tensor.data<char>(), tensor.nbytes()));
}

const std::string& In(const onnx::NodeProto& node, int i) {
  static const std::string* const kAbsent = new std::string();
  return i >= 0 && i < node.input_size() ? node.input(i) : *kAbsent;
}

const std::string& Out(const onnx::NodeProto& node, int i) {
  static const std::string* const kAbsent = new std::string();
  return i >= 0 && i < node.output_size() ? node.output(i) : *kAbsent;
}

std::string NodeLabel(const onnx::NodeProto& node) {
  if (node.name().empty() && node.output_size() > 0) {  // unnamed: name it by its first output
    return absl::StrCat("node defining '", node.output(0), "' (", node.op_type(), ")");
  }
  return absl::StrCat("node '", node.name(), "' (", node.op_type(), ")");
}

const onnx::AttributeProto* FindAttr(const onnx::NodeProto& node, absl::string_view name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

namespace {

absl::Status WrongAttrType(const onnx::NodeProto& node, absl::string_view name,
                           absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat(NodeLabel(node), ": attribute '", name, "' must be ", expected));
}

}  // namespace

absl::StatusOr<int64_t> IntAttr(const onnx::NodeProto& node, absl::string_view name,
                                int64_t default_value) {
  const onnx::AttributeProto* a = FindAttr(node, name);
  if (a == nullptr) return default_value;
  if (a->type() != onnx::AttributeProto::INT) return WrongAttrType(node, name, "an INT");
  return a->i();
}

absl::StatusOr<float> FloatAttr(const onnx::NodeProto& node, absl::string_view name,
                                float default_value) {
  const onnx::AttributeProto* a = FindAttr(node, name);
  if (a == nullptr) return default_value;
  if (a->type() != onnx::AttributeProto::FLOAT) return WrongAttrType(node, name, "a FLOAT");
  return a->f();
}

absl::StatusOr<std::vector<int64_t>> IntsAttr(const onnx::NodeProto& node, absl::string_view name,
                                              std::vector<int64_t> default_value) {
  const onnx::AttributeProto* a = FindAttr(node, name);
  if (a == nullptr) return default_value;
  if (a->type() != onnx::AttributeProto::INTS) return WrongAttrType(node, name, "INTS");
  return std::vector<int64_t>(a->ints().begin(), a->ints().end());
}

absl::StatusOr<std::string> StringAttr(const onnx::NodeProto& node, absl::string_view name,
                                       std::string default_value) {
  const onnx::AttributeProto* a = FindAttr(node, name);
  if (a == nullptr) return default_value;
  if (a->type() != onnx::AttributeProto::STRING) return WrongAttrType(node, name, "a STRING");
  return a->s();
}

absl::StatusOr<std::vector<std::string>> StringsAttr(const onnx::NodeProto& node,
                                                     absl::string_view name) {
  const onnx::AttributeProto* a = FindAttr(node, name);
  if (a == nullptr) return std::vector<std::string>{};
  if (a->type() != onnx::AttributeProto::STRINGS) return WrongAttrType(node, name, "STRINGS");
  return std::vector<std::string>(a->strings().begin(), a->strings().end());
}

void AddIntAttr(onnx::NodeProto& node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

void AddFloatAttr(onnx::NodeProto& node, const std::string& name, float value) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

void AddIntsAttr(onnx::NodeProto& node, const std::string& name,
                 const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void AddStringAttr(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(value);
}

}  // namespace structprune::internal
