#include "graph/onnx/export_writer.h"

#include "absl/strings/str_cat.h"

namespace structprune::internal {

onnx::NodeProto& OnnxWriter::AddNode(const std::string& op_type, const std::string& scope,
                                     const std::vector<std::string>& inputs, int num_outputs) {
  // PyTorch's names: "<scope>/<OpType>", then "<scope>/<OpType>_1", ... within the graph.
  const std::string base = absl::StrCat(scope, "/", op_type);
  int& count = node_names_[base];
  const std::string name = count == 0 ? base : absl::StrCat(base, "_", count);
  ++count;
  onnx::NodeProto& node = *graph_.add_node();
  node.set_name(name);
  node.set_op_type(op_type);
  for (const std::string& in : inputs) node.add_input(in);
  for (int i = 0; i < num_outputs; ++i) node.add_output(absl::StrCat(name, "_output_", i));
  return node;
}

std::string OnnxWriter::Initializer(const std::string& name, const Tensor& value) {
  if (initializers_.insert(name).second) TensorToProto(value, name, *graph_.add_initializer());
  return name;
}

std::string OnnxWriter::Constant(const std::string& scope, const Tensor& value) {
  onnx::NodeProto& node = AddNode("Constant", scope, {});
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name("value");
  a->set_type(onnx::AttributeProto::TENSOR);
  TensorToProto(value, "", *a->mutable_t());
  return node.output(0);
}

std::string OnnxWriter::IntsConstant(const std::string& scope, const std::vector<int64_t>& values) {
  Tensor t = Tensor::Zeros({static_cast<int64_t>(values.size())}, DType::kInt64);
  for (size_t i = 0; i < values.size(); ++i) t.data<int64_t>()[i] = values[i];
  return Constant(scope, t);
}

}  // namespace structprune::internal
