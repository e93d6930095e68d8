// `structprune run`: one forward pass on TensorProto inputs (ONNX test-data convention),
// writing output_0.pb, output_1.pb, ... run binds inputs used as weights: a graph input read
// where the importer needs a constant (Conv's W, as ONNX's backend node tests pass it) is
// imported as a constant of the given value.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/interpreter.h"
#include "graph/onnx_tensor.h"
#include "tools/cli_common.h"

ABSL_FLAG(std::vector<std::string>, input, {},
          "a TensorProto file for the next model input (repeat for each input, in order)");
ABSL_FLAG(std::string, output_dir, "",
          "directory for output_0.pb, output_1.pb, ... (created if missing)");

namespace structprune::cli {
namespace {

constexpr char kCommand[] = "run";

int RunForward(const std::string& path, const std::vector<std::string>& input_paths,
               const std::string& out_dir) {
  // The i-th --input is the file's i-th graph input. Those the importer reads as weights
  // (Conv's W given as a graph input, as in ONNX's backend node tests) are bound to their
  // values and imported as constants; the others are the forward pass's inputs.
  absl::StatusOr<std::vector<OnnxGraphInput>> graph_inputs = ReadOnnxGraphInputs(path);
  if (!graph_inputs.ok()) return Fail(kCommand, graph_inputs.status());
  if (input_paths.size() != graph_inputs->size()) {
    std::vector<std::string> names;
    for (const OnnxGraphInput& in : *graph_inputs) names.push_back(in.name);
    return Fail(kCommand,
                absl::InvalidArgumentError(absl::StrCat(
                    "'", path, "' has ", names.size(), " graph inputs (",
                    absl::StrJoin(names, ", "), "); got ", input_paths.size(), " --input files")));
  }
  OnnxImportOptions options;
  std::vector<std::string> data_paths;
  for (size_t i = 0; i < input_paths.size(); ++i) {
    if (!(*graph_inputs)[i].is_weight) {
      data_paths.push_back(input_paths[i]);
      continue;
    }
    absl::StatusOr<Tensor> t = ReadTensorProtoFile(input_paths[i]);
    if (!t.ok()) return Fail(kCommand, t.status());
    options.constant_inputs[(*graph_inputs)[i].name] = *std::move(t);
  }
  Progress(kCommand, absl::StrCat("importing ", path));
  absl::StatusOr<OnnxModel> onnx = ImportOnnx(path, options);
  if (!onnx.ok()) return Fail(kCommand, onnx.status());
  std::vector<Tensor> inputs;
  for (const std::string& p : data_paths) {
    absl::StatusOr<Tensor> t = ReadTensorProtoFile(p);
    if (!t.ok()) return Fail(kCommand, t.status());
    const size_t k = inputs.size();
    if (k < onnx->input_eight_bit_types.size() && !onnx->input_eight_bit_types[k].empty() &&
        t->dtype() == DType::kInt64) {
      // An 8-bit input (read as int64) is held in float32, exact for its values.
      Tensor f = Tensor::Zeros(t->shape());
      std::copy_n(t->data<int64_t>(), t->numel(), f.data<float>());
      t = std::move(f);
    }
    if (t->dtype() != DType::kFloat32) {
      return Fail(kCommand,
                  absl::InvalidArgumentError(absl::StrCat(
                      "'", p, "': the model takes float tensors, got ", DTypeName(t->dtype()))));
    }
    inputs.push_back(*std::move(t));
  }
  // Plan for the file's shapes, a symbolic dimension taking the given input's size; Run()
  // then names any input whose shape differs from the plan.
  std::vector<Shape> shapes;
  for (size_t i = 0; i < onnx->input_shapes.size(); ++i) {
    Shape s = onnx->input_shapes[i];
    if (s.empty() && i < inputs.size()) s = inputs[i].shape();
    for (size_t d = 0; d < s.size(); ++d) {
      if (s[d] >= 0) continue;
      const bool known = i < inputs.size() && inputs[i].dim() == static_cast<int64_t>(s.size());
      s[d] = known ? inputs[i].size(static_cast<int64_t>(d)) : 1;
    }
    shapes.push_back(std::move(s));
  }
  absl::StatusOr<std::unique_ptr<Interpreter>> interp = Interpreter::Create(onnx->model, shapes);
  if (!interp.ok()) return Fail(kCommand, interp.status());
  Progress(kCommand, "running");
  absl::StatusOr<std::vector<Tensor>> outputs = (*interp)->Run(inputs);
  if (!outputs.ok()) return Fail(kCommand, outputs.status());

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (!std::filesystem::is_directory(out_dir)) {
    return Fail(kCommand, absl::InvalidArgumentError(
                              absl::StrCat("cannot create output directory '", out_dir, "'")));
  }
  for (size_t i = 0; i < outputs->size(); ++i) {
    const std::string name =
        i < onnx->output_names.size() ? onnx->output_names[i] : absl::StrCat("output_", i);
    const std::string file =
        (std::filesystem::path(out_dir) / absl::StrCat("output_", i, ".pb")).string();
    const std::string eight_bit =
        i < onnx->output_eight_bit_types.size() ? onnx->output_eight_bit_types[i] : "";
    if (absl::Status s = WriteTensorProtoFile((*outputs)[i], file, name, eight_bit); !s.ok()) {
      return Fail(kCommand, s);
    }
    std::printf("%s: %s %s\n", file.c_str(), name.c_str(),
                ShapeToString((*outputs)[i].shape()).c_str());
  }
  return kExitOk;
}

}  // namespace

const CommandSpec& RunCommand() {
  static const CommandSpec* spec = new CommandSpec{
      .name = kCommand,
      .synopsis = "run MODEL.onnx --input input_0.pb [--input input_1.pb ...] --output-dir DIR",
      .summary =
          "Runs one forward pass on the given TensorProto inputs (one per graph input, in\n"
          "order) and writes each output as DIR/output_<i>.pb, named like the model's outputs.\n"
          "A graph input read as a weight (Conv's W, Gemm's B, ...) is bound to its value.",
      .flags = {{"input", "FILE.pb"}, {"output_dir", "DIR"}},
      .aliases = {},
      .min_positional = 1,
      .max_positional = 1,
      .positional_name = "MODEL.onnx"};
  return *spec;
}

int RunMain(const std::vector<std::string>& argv) {
  absl::StatusOr<ParsedArgs> args = ParseArgs(RunCommand(), argv);
  if (!args.ok()) return Fail(kCommand, args.status());
  if (args->help) {
    std::fputs(HelpText(RunCommand()).c_str(), stdout);
    return kExitOk;
  }
  const std::vector<std::string> inputs = absl::GetFlag(FLAGS_input);
  const std::string out_dir = absl::GetFlag(FLAGS_output_dir);
  if (inputs.empty()) return Fail(kCommand, absl::InvalidArgumentError("missing --input FILE.pb"));
  if (out_dir.empty()) {
    return Fail(kCommand, absl::InvalidArgumentError("missing --output-dir DIR"));
  }
  return RunForward(args->positional[0], inputs, out_dir);
}

}  // namespace structprune::cli
