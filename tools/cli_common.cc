#include "tools/cli_common.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "core/status_macros.h"

namespace structprune::cli {
namespace {

std::string Normalize(absl::string_view name) { return absl::StrReplaceAll(name, {{"-", "_"}}); }
std::string Display(absl::string_view name) {
  return absl::StrCat("--", absl::StrReplaceAll(name, {{"_", "-"}}));
}

// What an ill-typed value should have been, for the error message.
std::string ExpectedValue(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "true or false";
  if (flag.IsOfType<int32_t>() || flag.IsOfType<int64_t>()) return "an integer";
  if (flag.IsOfType<double>() || flag.IsOfType<float>()) return "a number";
  return "a value";
}

}  // namespace

absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec,
                                     const std::vector<std::string>& args) {
  ParsedArgs parsed;
  std::map<std::string, std::vector<std::string>> repeated;  // vector flags: every occurrence
  const std::string see_help = absl::StrCat(" (see 'structprune ", spec.name, " --help')");
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg.size() < 2 || arg[0] != '-') {
      parsed.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    absl::string_view body = arg;
    body.remove_prefix(body.substr(0, 2) == "--" ? 2 : 1);
    const size_t eq = body.find('=');
    std::string name = Normalize(body.substr(0, eq));
    if (name == "help" || name == "h") {
      parsed.help = true;
      continue;
    }
    for (const auto& [alias, target] : spec.aliases) {
      if (name == alias) name = target;
    }
    bool known = false;
    for (const auto& [flag_name, placeholder] : spec.flags) known |= flag_name == name;
    absl::CommandLineFlag* flag = known ? absl::FindCommandLineFlag(name) : nullptr;
    if (flag == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '", arg, "'", see_help));
    }
    std::string value;
    if (eq != absl::string_view::npos) {
      value = std::string(body.substr(eq + 1));
    } else if (flag->IsOfType<bool>()) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("flag ", Display(name), " needs a value", see_help));
    }
    parsed.explicitly_set.insert(name);
    if (flag->IsOfType<std::vector<std::string>>()) {
      repeated[name].push_back(value);
      continue;
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid value '", value, "' for ", Display(name), ": expected ", ExpectedValue(*flag)));
    }
  }
  for (const auto& [name, values] : repeated) {
    std::string error;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    // Abseil's std::vector<std::string> flags are comma-separated lists.
    if (!flag->ParseFrom(absl::StrJoin(values, ","), &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid value for ", Display(name), ": ", error));
    }
  }
  if (parsed.help) return parsed;
  const int count = static_cast<int>(parsed.positional.size());
  if (count < spec.min_positional) {
    return absl::InvalidArgumentError(absl::StrCat("missing ", spec.positional_name, see_help));
  }
  if (count > spec.max_positional) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", parsed.positional[spec.max_positional], "'", see_help));
  }
  return parsed;
}

std::string HelpText(const CommandSpec& spec) {
  std::string text = absl::StrCat("usage: structprune ", spec.synopsis, "\n\n", spec.summary, "\n");
  if (spec.flags.empty()) return text;
  text += "\noptions:\n";
  for (const auto& [name, placeholder] : spec.flags) {
    const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    std::string left = "  ";
    for (const auto& [alias, target] : spec.aliases) {
      if (target == name) absl::StrAppend(&left, "-", alias, ", ");
    }
    absl::StrAppend(&left, Display(name), placeholder.empty() ? "" : " ", placeholder);
    std::string help = flag->Help();
    const std::string def = flag->DefaultValue();
    if (!flag->IsOfType<bool>() && !def.empty()) absl::StrAppend(&help, " (default ", def, ")");
    // Help column from 26 to 100, wrapped at spaces.
    constexpr size_t kIndent = 26, kWidth = 100;
    std::string line = left.size() < kIndent ? left + std::string(kIndent - left.size(), ' ')
                                             : left + "\n" + std::string(kIndent, ' ');
    size_t column = kIndent;
    for (absl::string_view word : absl::StrSplit(help, ' ', absl::SkipEmpty())) {
      if (column > kIndent && column + 1 + word.size() > kWidth) {
        absl::StrAppend(&line, "\n", std::string(kIndent, ' '));
        column = kIndent;
      } else if (column > kIndent) {
        line += ' ';
        ++column;
      }
      absl::StrAppend(&line, word);
      column += word.size();
    }
    absl::StrAppend(&text, line, "\n");
  }
  absl::StrAppend(&text, "  -h, --help              this text\n");
  return text;
}

int Fail(absl::string_view command, const absl::Status& status) {
  std::fprintf(stderr, "structprune %s: %s\n", std::string(command).c_str(),
               std::string(status.message()).c_str());
  return kExitBadInput;
}

bool ProgressEnabled() {
  static const bool enabled = isatty(STDERR_FILENO) != 0;
  return enabled;
}

void Progress(absl::string_view command, absl::string_view what) {
  if (!ProgressEnabled()) return;
  std::fprintf(stderr, "structprune %s: %s...\n", std::string(command).c_str(),
               std::string(what).c_str());
}

absl::StatusOr<std::vector<Shape>> ConcreteInputShapes(const OnnxModel& onnx) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < onnx.input_shapes.size(); ++i) {
    Shape shape = onnx.input_shapes[i];
    const std::string name = i < onnx.input_names.size() ? onnx.input_names[i] : absl::StrCat(i);
    if (shape.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", name,
          "' has no shape in the file; structprune plans the model for its inputs' shapes"));
    }
    for (int64_t& d : shape) {
      if (d < 0) d = 1;  // a symbolic dimension (batch, sequence length): plan for 1
    }
    shapes.push_back(std::move(shape));
  }
  return shapes;
}

absl::StatusOr<LoadedModel> LoadModel(const std::string& path) {
  SP_ASSIGN_OR_RETURN(OnnxModel onnx, ImportOnnx(path));
  absl::StatusOr<std::vector<Shape>> shapes = ConcreteInputShapes(onnx);
  if (!shapes.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "': ", shapes.status().message()));
  }
  return LoadedModel{std::move(onnx), *std::move(shapes)};
}

std::string FileShapeToString(const Shape& shape) {
  std::vector<std::string> dims;
  for (int64_t d : shape) dims.push_back(d < 0 ? "?" : absl::StrCat(d));
  return absl::StrCat("[", absl::StrJoin(dims, ", "), "]");
}

nlohmann::json ShapeToJson(const Shape& shape) {
  nlohmann::json dims = nlohmann::json::array();
  for (int64_t d : shape) dims.push_back(d);
  return dims;
}

absl::Status WriteJsonFile(const nlohmann::json& value, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  // Names come from the model file: replace invalid UTF-8 rather than throw.
  if (out.is_open()) {
    out << value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  out.close();
  if (!out) return absl::InvalidArgumentError(absl::StrCat("cannot write '", path, "'"));
  return absl::OkStatus();
}

}  // namespace structprune::cli
