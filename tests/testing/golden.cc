#include "tests/testing/golden.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace structprune::testing {
namespace {

// ordered_json keeps the fixture's key order: params come in state_dict order.
using json = nlohmann::ordered_json;

absl::StatusOr<Tensor> ReadTensor(const json& j) {
  Shape shape;
  for (const auto& d : j.at("shape")) shape.push_back(d.get<int64_t>());
  std::vector<float> data;
  for (const auto& v : j.at("data")) data.push_back(static_cast<float>(v.get<double>()));
  return Tensor::FromVector(shape, data);
}

absl::StatusOr<AttrMap> ReadAttrs(const json& j) {
  AttrMap attrs;
  for (const auto& [key, v] : j.items()) {
    if (v.is_boolean()) {
      attrs[key] = v.get<bool>();
    } else if (v.is_number_integer()) {
      attrs[key] = v.get<int64_t>();
    } else if (v.is_number_float()) {
      attrs[key] = v.get<double>();
    } else if (v.is_string()) {
      attrs[key] = v.get<std::string>();
    } else if (v.is_array()) {
      std::vector<int64_t> ints;
      for (const auto& e : v) ints.push_back(e.get<int64_t>());
      attrs[key] = ints;
    } else if (!v.is_null()) {
      return absl::InvalidArgumentError(absl::StrCat("attribute '", key, "' has an unsupported type"));
    }
  }
  return attrs;
}

}  // namespace

std::vector<std::string> GoldenFiles(const std::string& subdir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(std::string(SP_GOLDEN_DIR) + "/" + subdir)) {
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

absl::StatusOr<GoldenCase> LoadGolden(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  try {
    json j = json::parse(in);
    GoldenCase c;
    c.name = std::filesystem::path(path).stem().string();
    c.op = j.value("op", "");
    c.form = j.value("form", "");
    c.model = j.value("model", "");
    if (j.contains("attrs")) {
      auto attrs = ReadAttrs(j["attrs"]);
      if (!attrs.ok()) return attrs.status();
      c.attrs = *attrs;
    }
    if (j.contains("args")) {
      auto args = ReadAttrs(j["args"]);
      if (!args.ok()) return args.status();
      c.args = *args;
    }
    for (const auto& [name, t] : j.at("params").items()) {
      auto tensor = ReadTensor(t);
      if (!tensor.ok()) return tensor.status();
      c.params.emplace_back(name, *tensor);
    }
    for (const char* key : {"inputs", "outputs"}) {
      for (const auto& t : j.at(key)) {
        auto tensor = ReadTensor(t);
        if (!tensor.ok()) return tensor.status();
        (std::string(key) == "inputs" ? c.inputs : c.outputs).push_back(*tensor);
      }
    }
    c.rtol = j.value("rtol", 1e-5);
    c.atol = j.value("atol", 1e-6);
    return c;
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
}

absl::Status LoadState(const std::vector<std::pair<std::string, Tensor>>& state, Module& root) {
  for (const auto& [fqn, value] : state) {
    auto owner = root.FindTensorOwner(fqn);
    if (!owner.ok()) return owner.status();
    auto [module, name] = *owner;
    const Tensor* current = module->HasBuffer(name) ? module->buffer(name) : module->parameter(name);
    if (current->shape() != value.shape()) {
      return absl::InvalidArgumentError(absl::StrCat(fqn, ": model has ", ShapeToString(current->shape()),
                                                     ", fixture has ", ShapeToString(value.shape())));
    }
    if (module->HasBuffer(name)) {
      module->SetBuffer(name, value.Clone());
    } else {
      module->SetParameter(name, value.Clone());
    }
  }
  return absl::OkStatus();
}

::testing::AssertionResult AllClose(const Tensor& actual, const Tensor& expected, double rtol,
                                    double atol) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << ShapeToString(actual.shape())
                                         << " != expected " << ShapeToString(expected.shape());
  }
  int64_t bad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < actual.numel(); ++i) {
    const double a = actual.data<float>()[i], e = expected.data<float>()[i];
    const double err = std::fabs(a - e);
    if (!(err <= atol + rtol * std::fabs(e))) {
      if (first < 0) first = i;
      ++bad;
      worst = std::max(worst, err);
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << bad << " of " << actual.numel() << " values differ (rtol " << rtol << ", atol " << atol
         << "); first at " << first << ": " << actual.data<float>()[first] << " vs "
         << expected.data<float>()[first] << "; worst |diff| " << worst;
}

Tensor Values(const Shape& shape, std::vector<float> values) {
  absl::StatusOr<Tensor> t = Tensor::FromVector(shape, values);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Tensor();
}

Tensor Iota(const Shape& shape, float start) {
  Tensor t = Tensor::Zeros(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

}  // namespace structprune::testing
