// The import driver: parse, index (graph/onnx/onnx_graph.h), match the pattern table
// (graph/onnx/import_table.cc), name the modules, then build the GraphModule.
//
// Matching walks the nodes from the graph outputs back: a node is visited only when some value
// it defines is needed, the first pattern of the table that matches at it claims its subgraph,
// and the subgraph's inputs become needed. Dead nodes and constant arithmetic are never visited.
// LSTM stacks are matched first, from their first node, because their outputs come from several
// nodes.
#include "graph/onnx_import.h"

#include <algorithm>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"
#include "graph/builder.h"
#include "graph/onnx/constant_inputs.h"
#include "graph/onnx/import_patterns.h"
#include "graph/onnx/onnx_graph.h"
#include "graph/onnx/proto.h"
#include "graph/onnx/scope_names.h"

namespace structprune {
namespace {

using internal::ImportOp;
using internal::OnnxGraph;
using internal::Out;

bool IsDefaultDomain(absl::string_view domain) { return domain.empty() || domain == "ai.onnx"; }

absl::Status NotSupported(const onnx::NodeProto& node) {
  const std::string op = IsDefaultDomain(node.domain())
                             ? node.op_type()
                             : absl::StrCat(node.domain(), ".", node.op_type());
  const std::string label = node.name().empty() && node.output_size() > 0
                                ? absl::StrCat("node defining '", Out(node, 0), "'")
                                : absl::StrCat("node '", node.name(), "'");
  return absl::UnimplementedError(absl::StrCat(
      label, " (", op, ") is not supported; supported: ", internal::SupportedOnnxOpList()));
}

class Importer {
 public:
  explicit Importer(const OnnxGraph& g) : g_(g), claimed_(g.num_nodes(), -1) {}

  absl::Status Match();
  absl::Status NameModules();
  absl::StatusOr<OnnxModel> Build();

 private:
  // Records `op` and claims its nodes; false (nothing recorded) when a node is taken already.
  bool Claim(ImportOp op);
  absl::Status Activate(int op_index);
  // The activated ops in dependency order.
  std::vector<int> EmissionOrder() const;

  const OnnxGraph& g_;
  std::vector<ImportOp> ops_;
  std::vector<bool> active_;
  std::vector<int> claimed_;  // node -> op index, -1
  absl::flat_hash_set<std::string> needed_;
  std::vector<std::string> fqn_;  // op index -> module FQN ("" = functional call or alias)
};

bool Importer::Claim(ImportOp op) {
  for (int n : op.nodes) {
    if (claimed_[n] >= 0) return false;
  }
  for (int n : op.nodes) claimed_[n] = static_cast<int>(ops_.size());
  ops_.push_back(std::move(op));
  active_.push_back(false);
  return true;
}

// The entry of op.constants named `value`; nullptr for a graph value.
const internal::ImportTensor* ConstantOperand(const ImportOp& op, const std::string& value) {
  for (const internal::ImportTensor& t : op.constants) {
    if (t.onnx_name == value) return &t;
  }
  return nullptr;
}

absl::Status Importer::Activate(int op_index) {
  active_[op_index] = true;
  const ImportOp& op = ops_[op_index];
  for (const std::string& v : op.inputs) {
    if (!v.empty() && ConstantOperand(op, v) != nullptr) continue;  // read with get_attr
    if (v.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(internal::NodeLabel(g_.node(op.nodes.front())),
                                                     ": a required input is missing"));
    }
    if (g_.Constant(v) != nullptr) {
      return absl::UnimplementedError(absl::StrCat(internal::NodeLabel(g_.node(op.nodes.front())),
                                                   ": input '", v, "' is a constant"));
    }
    needed_.insert(v);
  }
  return absl::OkStatus();
}

absl::Status Importer::Match() {
  const auto patterns = internal::ImportPatterns();
  for (int i = 0; i < g_.num_nodes(); ++i) {
    const onnx::NodeProto& n = g_.node(i);
    if (!g_.IsLive(i) || g_.IsFolded(i) || claimed_[i] >= 0) continue;
    if (!IsDefaultDomain(n.domain())) return NotSupported(n);
    for (const internal::ImportPattern& p : patterns) {
      if (!p.forward || n.op_type() != p.anchor_op) continue;
      SP_ASSIGN_OR_RETURN(std::optional<ImportOp> op, p.match(g_, i));
      if (op && Claim(*std::move(op))) break;
    }
  }
  for (const onnx::ValueInfoProto& out : g_.graph().output()) needed_.insert(out.name());
  for (int i = g_.num_nodes() - 1; i >= 0; --i) {
    if (!g_.IsLive(i) || g_.IsFolded(i)) continue;
    const onnx::NodeProto& n = g_.node(i);
    const bool is_needed = std::any_of(n.output().begin(), n.output().end(),
                                       [&](const std::string& v) { return needed_.contains(v); });
    if (claimed_[i] >= 0) {
      // A node of a forward-matched op: the op is needed when any of its results is.
      const int k = claimed_[i];
      bool wanted = false;
      for (const internal::ImportOutput& o : ops_[k].outputs)
        wanted = wanted || needed_.contains(o.value);
      if (wanted && !active_[k]) SP_RETURN_IF_ERROR(Activate(k));
      continue;
    }
    if (!is_needed) continue;  // read only inside a matched subgraph (shape arithmetic, ...)
    bool matched = false;
    for (const internal::ImportPattern& p : patterns) {
      if (p.forward || n.op_type() != p.anchor_op) continue;
      SP_ASSIGN_OR_RETURN(std::optional<ImportOp> op, p.match(g_, i));
      if (op && Claim(*std::move(op))) {
        SP_RETURN_IF_ERROR(Activate(static_cast<int>(ops_.size()) - 1));
        matched = true;
        break;
      }
    }
    if (!matched) return NotSupported(n);
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Module names.

// "seq.0" from tensors named "seq.0.weight", "seq.0.bias": the common prefix of the tensors
// whose ONNX names end in ".<local name>"; "" when none does.
std::string FqnFromTensorNames(const ImportOp& op) {
  for (const internal::ImportTensor& t : op.tensors) {
    const std::string suffix = "." + t.local_name;
    if (absl::EndsWith(t.onnx_name, suffix)) {
      std::string prefix = t.onnx_name.substr(0, t.onnx_name.size() - suffix.size());
      if (internal::IsValidFqn(prefix)) return prefix;
    }
  }
  return "";
}

bool SameModule(const ImportOp& a, const ImportOp& b) {
  if (a.kind != b.kind || a.attrs != b.attrs || a.tensors.size() != b.tensors.size()) return false;
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    if (a.tensors[i].onnx_name.empty() || a.tensors[i].onnx_name != b.tensors[i].onnx_name)
      return false;
  }
  return true;
}

// "a.b.c" -> {"a", "a.b"}.
std::vector<std::string> Ancestors(const std::string& fqn) {
  std::vector<std::string> out;
  for (size_t dot = fqn.find('.'); dot != std::string::npos; dot = fqn.find('.', dot + 1)) {
    out.push_back(fqn.substr(0, dot));
  }
  return out;
}

absl::Status Importer::NameModules() {
  fqn_.assign(ops_.size(), "");
  std::vector<int> weighted, parameterless;
  for (size_t k = 0; k < ops_.size(); ++k) {
    if (!active_[k] || ops_[k].alias) continue;
    const bool has_module_form = !OpModuleName(ops_[k].kind).empty();
    if (!ops_[k].tensors.empty() || OpFunctionalName(ops_[k].kind).empty()) {
      weighted.push_back(static_cast<int>(k));
    } else if (has_module_form && !ops_[k].functional_only) {
      parameterless.push_back(static_cast<int>(k));
    }
  }
  // Modules with tensors: named after the tensors, else the scope, else the tensor's ONNX name.
  absl::flat_hash_map<std::string, int> owner;  // FQN -> first op
  std::set<std::string> taken;                  // FQNs of modules with tensors and their parents
  for (int k : weighted) {
    const ImportOp& op = ops_[k];
    std::string fqn = FqnFromTensorNames(op);
    if (fqn.empty()) {
      std::optional<std::string> scope =
          internal::ScopeFqnFromNodeName(g_.node(op.nodes.front()).name());
      if (scope && !scope->empty()) fqn = *scope;
    }
    if (fqn.empty()) {
      fqn = internal::SanitizeModuleName(op.tensors.empty() ? std::string(OpName(op.kind))
                                                            : op.tensors.front().onnx_name);
    }
    // The same weights called twice are one module called twice; a clash otherwise gets "_1".
    for (int suffix = 1;; ++suffix) {
      auto it = owner.find(fqn);
      if (it == owner.end() || SameModule(ops_[it->second], op)) break;
      fqn = absl::StrCat(fqn, "_", suffix);
    }
    owner.emplace(fqn, k);
    fqn_[k] = fqn;
    taken.insert(fqn);
    for (const std::string& a : Ancestors(fqn)) taken.insert(a);
  }
  // Parameterless ops: a module when their scope belongs to them alone (nn.ReLU in a
  // Sequential), a functional call when it is a container's forward (F.relu).
  // Ops sharing a scope must be one module called several times (same kind and attributes).
  absl::flat_hash_map<std::string, int> scope_first;
  absl::flat_hash_set<std::string> scope_mixed;
  std::set<std::string> scope_ancestors;
  std::vector<std::string> scope(ops_.size());
  for (int k : parameterless) {
    std::optional<std::string> s =
        internal::ScopeFqnFromNodeName(g_.node(ops_[k].nodes.front()).name());
    if (!s || !internal::IsValidFqn(*s)) continue;
    scope[k] = *s;
    auto [it, inserted] = scope_first.emplace(*s, k);
    if (!inserted &&
        (ops_[it->second].kind != ops_[k].kind || ops_[it->second].attrs != ops_[k].attrs)) {
      scope_mixed.insert(*s);
    }
    for (const std::string& a : Ancestors(*s)) scope_ancestors.insert(a);
  }
  auto usable = [&](const std::string& s) {
    if (s.empty() || scope_mixed.contains(s) || taken.contains(s) || scope_ancestors.contains(s)) {
      return false;
    }
    for (const std::string& a : Ancestors(s)) {
      if (owner.contains(a)) return false;  // never a child of a Linear / Conv2d
    }
    return true;
  };
  for (int k : parameterless) {
    if (!usable(scope[k])) continue;
    fqn_[k] = scope[k];
    owner.emplace(scope[k], k);  // keeps the first op of a module called several times
  }
  // PyTorch names a module's second call "<name>_1": call the first module again.
  for (int k : parameterless) {
    const std::string& s = fqn_[k];
    const size_t underscore = s.rfind('_');
    int64_t n;
    if (s.empty() || underscore == std::string::npos ||
        !absl::SimpleAtoi(s.substr(underscore + 1), &n) ||
        s.find('.', underscore) != std::string::npos) {
      continue;
    }
    auto base = owner.find(s.substr(0, underscore));
    if (base != owner.end() && base->second != k && ops_[base->second].kind == ops_[k].kind &&
        ops_[base->second].attrs == ops_[k].attrs && ops_[base->second].tensors.empty()) {
      fqn_[k] = base->first;
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Building the GraphModule.

std::vector<int> Importer::EmissionOrder() const {
  absl::flat_hash_map<std::string, int> producer;  // value -> op
  for (size_t k = 0; k < ops_.size(); ++k) {
    if (!active_[k]) continue;
    for (const internal::ImportOutput& o : ops_[k].outputs) producer[o.value] = static_cast<int>(k);
  }
  std::vector<int> order, state(ops_.size(), 0);  // 0 new, 1 on stack, 2 done
  std::vector<int> roots;
  for (size_t k = 0; k < ops_.size(); ++k) {
    if (active_[k]) roots.push_back(static_cast<int>(k));
  }
  std::sort(roots.begin(), roots.end(), [&](int a, int b) {
    return *std::min_element(ops_[a].nodes.begin(), ops_[a].nodes.end()) <
           *std::min_element(ops_[b].nodes.begin(), ops_[b].nodes.end());
  });
  // Iterative DFS, post-order: every op after the ops defining its inputs.
  for (int root : roots) {
    std::vector<std::pair<int, size_t>> stack = {{root, 0}};
    while (!stack.empty()) {
      auto& [k, next] = stack.back();
      if (state[k] == 2) {
        stack.pop_back();
        continue;
      }
      state[k] = 1;
      if (next < ops_[k].inputs.size()) {
        auto it = producer.find(ops_[k].inputs[next++]);
        if (it != producer.end() && state[it->second] == 0) stack.push_back({it->second, 0});
        continue;
      }
      state[k] = 2;
      order.push_back(k);
      stack.pop_back();
    }
  }
  return order;
}

// Adds (or finds) the module at `fqn`, creating Sequential parents.
Module* ModuleAt(Module& root, const std::string& fqn, const ImportOp& op) {
  if (Module* m = root.FindModule(fqn)) return m;
  Module* parent = &root;
  std::vector<std::string> atoms = absl::StrSplit(fqn, '.');
  for (size_t i = 0; i + 1 < atoms.size(); ++i) {
    Module* next = parent->child(atoms[i]);
    parent = next ? next : &parent->AddChild(atoms[i], Module::Sequential());
  }
  auto module = std::make_unique<Module>(op.kind, op.attrs);
  for (const internal::ImportTensor& t : op.tensors) {
    if (t.is_buffer) {
      module->SetBuffer(t.local_name, t.value);
    } else {
      module->SetParameter(t.local_name, t.value);
    }
  }
  return &parent->AddChild(atoms.back(), std::move(module));
}

absl::StatusOr<OnnxModel> Importer::Build() {
  GraphBuilder b;
  OnnxModel result{
      GraphModule(Module::Sequential(), Graph()), {}, {}, {}, {}, {}, g_.opset(), {}, {}, {}};
  absl::flat_hash_map<std::string, Node*> values;
  for (const onnx::ValueInfoProto& in : g_.graph().input()) {
    if (!g_.IsModelInput(in.name())) continue;
    const auto& type = in.type();
    const int32_t eight_bit = g_.EightBitType(in.name());
    if (eight_bit == 0 &&
        (!type.has_tensor_type() || type.tensor_type().elem_type() != onnx::TensorProto::FLOAT)) {
      return absl::UnimplementedError(absl::StrCat(
          "graph input '", in.name(), "' is not a float tensor (",
          type.has_tensor_type() ? internal::TensorProtoTypeName(type.tensor_type().elem_type())
                                 : std::string("not a tensor"),
          "); only float32 inputs (and INT8 / UINT8 through Add, Clip, MaxPool, Identity) are "
          "supported"));
    }
    result.input_eight_bit_types.push_back(
        eight_bit == 0 ? std::string() : internal::TensorProtoTypeName(eight_bit));
    values[in.name()] = b.Input(in.name());
    result.input_names.push_back(in.name());
    const Shape* shape = g_.ShapeOf(in.name());
    result.input_shapes.push_back(shape ? *shape : Shape{});
    result.input_dim_params.push_back(internal::DimParamsOf(in));
  }
  // Constant operands: one get_attr per ONNX value and tensor (a matcher may reshape or scale
  // the value), reading a buffer of the root module named after it (sanitized; "_1", "_2", ..
  // appended on a clash with a module or another buffer).
  std::set<std::string> root_names;
  for (const std::string& fqn : fqn_) {
    if (!fqn.empty()) root_names.insert(fqn.substr(0, fqn.find('.')));
  }
  std::vector<std::pair<const internal::ImportTensor*, Node*>> constants;
  auto constant_node = [&](const internal::ImportTensor& t) -> Node* {
    for (const auto& [seen, node] : constants) {
      if (seen->onnx_name == t.onnx_name && seen->value.Equals(t.value)) return node;
    }
    const std::string base = internal::SanitizeModuleName(t.onnx_name);
    std::string name = base;
    for (int suffix = 1; root_names.contains(name); ++suffix) {
      name = absl::StrCat(base, "_", suffix);
    }
    root_names.insert(name);
    b.root().SetBuffer(name, t.value);
    result.tensor_fqns.try_emplace(t.onnx_name, name);  // the first tensor made of it
    constants.push_back({&t, b.GetAttr(name)});
    return constants.back().second;
  };
  // call(x) or call(x, constant).
  auto apply = [&](const ImportOp& op, const internal::ImportCall& call, Node* x) -> Node* {
    if (x == nullptr) return nullptr;
    std::vector<Node*> call_args = {x};
    if (!call.constant.empty()) {
      const internal::ImportTensor* t = ConstantOperand(op, call.constant);
      if (t == nullptr) return nullptr;
      call_args.push_back(constant_node(*t));
    }
    return b.Call(call.kind, std::move(call_args), call.attrs);
  };
  for (int k : EmissionOrder()) {
    const ImportOp& op = ops_[k];
    const onnx::NodeProto& anchor = g_.node(op.nodes.front());
    std::vector<Node*> args;
    for (const std::string& v : op.inputs) {
      if (const internal::ImportTensor* t = ConstantOperand(op, v)) {
        args.push_back(constant_node(*t));
        continue;
      }
      auto it = values.find(v);
      if (it == values.end()) {
        return absl::InternalError(absl::StrCat(internal::NodeLabel(anchor), ": input '", v,
                                                "' was not imported before its reader"));
      }
      args.push_back(it->second);
    }
    for (const internal::ImportCall& call : op.first) args.front() = apply(op, call, args.front());
    if (std::find(args.begin(), args.end(), nullptr) != args.end()) break;  // Build() reports it
    Node* node;
    if (op.alias) {
      node = args.front();
    } else if (!fqn_[k].empty()) {
      ModuleAt(b.root(), fqn_[k], op);
      for (const internal::ImportTensor& t : op.tensors) {
        if (!t.onnx_name.empty())
          result.tensor_fqns[t.onnx_name] = absl::StrCat(fqn_[k], ".", t.local_name);
      }
      node = b.Call(fqn_[k], args);
    } else {
      node = b.Call(op.kind, args, op.attrs);
    }
    for (const internal::ImportCall& call : op.then) node = apply(op, call, node);
    if (node == nullptr) break;  // Build() reports the builder's error
    std::map<std::vector<int64_t>, Node*> items = {{{}, node}};
    bool failed = false;
    for (const internal::ImportOutput& o : op.outputs) {
      for (size_t len = 1; len <= o.path.size(); ++len) {
        std::vector<int64_t> prefix(o.path.begin(), o.path.begin() + len);
        if (!items.contains(prefix)) {
          items[prefix] =
              b.GetItem(items[std::vector<int64_t>(o.path.begin(), o.path.begin() + len - 1)],
                        o.path[len - 1]);
        }
      }
      Node* value = items[o.path];
      for (const internal::ImportCall& call : o.then) value = apply(op, call, value);
      failed = value == nullptr;
      if (failed) break;
      values[o.value] = value;
    }
    if (failed) break;  // Build() reports the builder's error
  }
  std::vector<Node*> outputs;
  for (const onnx::ValueInfoProto& out : g_.graph().output()) {
    auto it = values.find(out.name());
    if (it == values.end()) {
      if (g_.Constant(out.name()) != nullptr) {
        return absl::UnimplementedError(absl::StrCat(
            "graph output '", out.name(), "' is a constant; only computed outputs are supported"));
      }
      return absl::InternalError(absl::StrCat("graph output '", out.name(), "' was not imported"));
    }
    outputs.push_back(it->second);
    result.output_names.push_back(out.name());
    result.output_dim_params.push_back(internal::DimParamsOf(out));
    const int32_t eight_bit = g_.EightBitType(out.name());
    result.output_eight_bit_types.push_back(
        eight_bit == 0 ? std::string() : internal::TensorProtoTypeName(eight_bit));
  }
  b.Output(outputs);
  SP_ASSIGN_OR_RETURN(result.model, b.Build());
  return result;
}

absl::StatusOr<OnnxModel> ImportModelProto(const onnx::ModelProto& proto) {
  SP_ASSIGN_OR_RETURN(std::unique_ptr<OnnxGraph> g, OnnxGraph::Create(proto));
  Importer importer(*g);
  SP_RETURN_IF_ERROR(importer.Match());
  SP_RETURN_IF_ERROR(importer.NameModules());
  return importer.Build();
}

}  // namespace

absl::StatusOr<OnnxModel> ImportOnnxFromBytes(absl::string_view bytes,
                                              const OnnxImportOptions& options) {
  SP_ASSIGN_OR_RETURN(std::unique_ptr<onnx::ModelProto> proto, internal::ParseModelProto(bytes));
  SP_RETURN_IF_ERROR(internal::BindConstantInputs(options.constant_inputs, *proto));
  return ImportModelProto(*proto);
}

absl::StatusOr<OnnxModel> ImportOnnx(const std::string& path, const OnnxImportOptions& options) {
  SP_ASSIGN_OR_RETURN(std::string bytes, internal::ReadFileBytes(path));
  absl::StatusOr<OnnxModel> model = ImportOnnxFromBytes(bytes, options);
  if (!model.ok()) {
    return absl::Status(model.status().code(),
                        absl::StrCat("'", path, "': ", model.status().message()));
  }
  return model;
}

absl::StatusOr<std::vector<OnnxGraphInput>> ReadOnnxGraphInputs(const std::string& path) {
  SP_ASSIGN_OR_RETURN(std::string bytes, internal::ReadFileBytes(path));
  absl::StatusOr<std::unique_ptr<onnx::ModelProto>> proto = internal::ParseModelProto(bytes);
  if (!proto.ok()) {
    return absl::Status(proto.status().code(),
                        absl::StrCat("'", path, "': ", proto.status().message()));
  }
  return internal::GraphInputsOf(**proto);
}

absl::StatusOr<std::string> ResolveTensorFqn(const OnnxModel& model, absl::string_view name) {
  if (model.model.root().FindTensorOwner(name).ok()) return std::string(name);
  auto it = model.tensor_fqns.find(std::string(name));
  if (it != model.tensor_fqns.end()) return it->second;
  return absl::NotFoundError(
      absl::StrCat("no tensor named '", name, "' (neither an FQN nor an ONNX initializer name)"));
}

std::string SupportedOnnxOps() { return internal::SupportedOnnxOpList(); }

}  // namespace structprune
