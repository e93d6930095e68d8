// What the `structprune` subcommands share: their flag parsing (Abseil flags looked up by
// name, so each subcommand accepts only its own), model loading, progress and JSON output.
#ifndef STRUCTPRUNE_TOOLS_CLI_COMMON_H_
#define STRUCTPRUNE_TOOLS_CLI_COMMON_H_

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/shape.h"
#include "graph/onnx_import.h"
#include "nlohmann/json.hpp"

namespace structprune::cli {

// Exit codes (SPEC section 7).
inline constexpr int kExitOk = 0;
inline constexpr int kExitVerifyFailed = 1;
inline constexpr int kExitBadInput = 2;

// A subcommand's command line: its usage text and the Abseil flags it accepts.
struct CommandSpec {
  std::string name;      // "prune"
  std::string synopsis;  // "prune MODEL.onnx -o OUT.onnx [options]"
  std::string summary;   // one paragraph, printed under the synopsis by --help
  // The Abseil flags accepted, in help order: {name, value placeholder}; a bool flag's
  // placeholder is empty. {"round_to", "N"} is shown as "--round-to N".
  std::vector<std::pair<std::string, std::string>> flags;
  // Extra spellings: {"o", "output"} lets `-o X` set --output.
  std::vector<std::pair<std::string, std::string>> aliases;
  int min_positional = 0;
  int max_positional = 0;
  std::string positional_name;  // "MODEL.onnx", for error messages
};

struct ParsedArgs {
  bool help = false;                     // --help / -h was given: print HelpText, exit 0
  std::vector<std::string> positional;   // non-flag arguments in order
  std::set<std::string> explicitly_set;  // flag names given on the command line
  bool WasSet(absl::string_view flag) const { return explicitly_set.count(std::string(flag)) > 0; }
};

// Parses `args` (the words after the subcommand) into the Abseil flags `spec` lists. Accepts
// --name=value, --name value, -name, and --name alone for bools; dashes and underscores in a
// name are the same ("--round-to" is flag round_to). A repeated std::vector<std::string> flag
// accumulates (--input a.pb --input b.pb). InvalidArgument naming the argument for an unknown
// flag, a missing or ill-typed value (Abseil's parser decides), or a wrong positional count.
absl::StatusOr<ParsedArgs> ParseArgs(const CommandSpec& spec, const std::vector<std::string>& args);

// `structprune <name> --help`: synopsis, summary and each flag with its help and default.
std::string HelpText(const CommandSpec& spec);

// The subcommands (tools/cli_<name>.cc): each takes the words after its name and returns the
// exit code; their CommandSpec gives the usage text.
int PruneMain(const std::vector<std::string>& args);
int InfoMain(const std::vector<std::string>& args);
int RunMain(const std::vector<std::string>& args);
int BenchMain(const std::vector<std::string>& args);
const CommandSpec& PruneCommand();
const CommandSpec& InfoCommand();
const CommandSpec& RunCommand();
const CommandSpec& BenchCommand();

// Prints "structprune <command>: <message>" on stderr and returns kExitBadInput.
int Fail(absl::string_view command, const absl::Status& status);

// True when stderr is a terminal: only then do long commands print progress.
bool ProgressEnabled();
// "structprune <command>: <what>..." on stderr when ProgressEnabled().
void Progress(absl::string_view command, absl::string_view what);

// An imported model and the input shapes it is planned with: the file's shapes, symbolic
// dimensions (-1) taken as 1. InvalidArgument when an input has no shape in the file.
struct LoadedModel {
  OnnxModel onnx;
  std::vector<Shape> input_shapes;
};
absl::StatusOr<LoadedModel> LoadModel(const std::string& path);

// The file's input shapes with symbolic dimensions set to 1.
absl::StatusOr<std::vector<Shape>> ConcreteInputShapes(const OnnxModel& onnx);

// "[1, 3, 32, 32]", symbolic dimensions (-1) shown as "?".
std::string FileShapeToString(const Shape& shape);

nlohmann::json ShapeToJson(const Shape& shape);
// Writes `value` (pretty-printed, 2-space indent, trailing newline). InvalidArgument naming
// the path when it cannot be written.
absl::Status WriteJsonFile(const nlohmann::json& value, const std::string& path);

}  // namespace structprune::cli

#endif  // STRUCTPRUNE_TOOLS_CLI_COMMON_H_
