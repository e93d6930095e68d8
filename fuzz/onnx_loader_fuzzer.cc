// Fuzzes ImportOnnxFromBytes: any bytes give a model or a status, never a
// crash. A model that imports is also run forward on its file's input shapes
// (symbolic dims as 1) when that is cheap, exported, and the export must import
// again.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/rng.h"
#include "graph/interpreter.h"
#include "graph/model_stats.h"
#include "graph/onnx_export.h"
#include "graph/onnx_import.h"

namespace structprune {
namespace {

constexpr int64_t kMaxInputElements = int64_t{1} << 16;
constexpr int64_t kMaxForwardFlops = int64_t{1} << 24;

// The shapes to plan the model for, symbolic dims as 1; false when a shape is
// unknown or big.
bool PlannedShapes(const OnnxModel &m, std::vector<Shape> &shapes) {
  for (Shape shape : m.input_shapes) {
    if (shape.empty()) return false;
    int64_t elements = 1;
    for (int64_t &d : shape) {
      if (d == -1) d = 1;
      if (d < 0 || d > kMaxInputElements) return false;
      elements *= d;
      if (elements > kMaxInputElements) return false;
    }
    shapes.push_back(shape);
  }
  return true;
}

void RunIfCheap(const GraphModule &model, const std::vector<Shape> &shapes) {
  absl::StatusOr<ModelStats> stats = ComputeModelStats(model, shapes);
  if (!stats.ok() || stats->flops < 0 || stats->flops > kMaxForwardFlops) return;
  Rng rng(0);
  std::vector<Tensor> inputs;
  for (const Shape &shape : shapes) inputs.push_back(rng.UniformTensor(shape, -1.0f, 1.0f));
  (void)RunModel(model, inputs);
}

void ExportAndReimport(const OnnxModel &m, const std::vector<Shape> &shapes) {
  absl::StatusOr<std::string> bytes = ExportOnnxToBytes(m.model, shapes, ExportOptionsFor(m));
  if (!bytes.ok()) return;
  absl::StatusOr<OnnxModel> again = ImportOnnxFromBytes(*bytes);
  if (!again.ok()) {
    std::fprintf(stderr, "an exported model does not import: %s\n",
                 again.status().ToString().c_str());
    std::abort();
  }
}

}  // namespace
}  // namespace structprune

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using namespace structprune;
  absl::StatusOr<OnnxModel> m =
      ImportOnnxFromBytes(absl::string_view(reinterpret_cast<const char *>(data), size));
  if (!m.ok()) return 0;
  std::vector<Shape> shapes;
  if (!PlannedShapes(*m, shapes)) return 0;
  RunIfCheap(m->model, shapes);
  ExportAndReimport(*m, shapes);
  return 0;
}
