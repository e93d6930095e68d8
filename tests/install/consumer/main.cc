// Builds a two-layer MLP through the installed headers and checks one output value.
#include <cmath>
#include <cstdio>

#include "graph/builder.h"
#include "graph/interpreter.h"
#include "ops/linear.h"

int main() {
  using namespace structprune;
  GraphBuilder b;
  Module* fc = b.AddModule("fc", LinearAttrs{.in_features = 2, .out_features = 1});
  fc->SetParameter("weight", *Tensor::FromVector({1, 2}, {2.0f, -1.0f}));
  fc->SetParameter("bias", *Tensor::FromVector({1}, {0.5f}));
  Node* x = b.Input("x");
  b.Output(b.Call(OpKind::kRelu, b.Call("fc", x)));
  absl::StatusOr<GraphModule> model = b.Build();
  if (!model.ok()) return std::printf("build failed: %s\n", model.status().ToString().c_str()), 1;
  auto out = RunModel(*model, {*Tensor::FromVector({1, 2}, {3.0f, 1.0f})});
  if (!out.ok()) return std::printf("run failed: %s\n", out.status().ToString().c_str()), 1;
  float y = (*out)[0].data<float>()[0];  // relu(2*3 - 1 + 0.5) = 5.5
  std::printf("consumer: y = %g\n", y);
  return std::fabs(y - 5.5f) < 1e-6f ? 0 : 1;
}
