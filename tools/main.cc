// structprune: the command-line program (SPEC section 7). Exit codes: 0 ok, 1 verification
// failed, 2 bad input (one message on stderr naming what is wrong).
#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/cli_common.h"
#include "tools/demo.h"

namespace {

using structprune::cli::kExitBadInput;
using structprune::cli::kExitOk;

constexpr char kUsage[] =
    "usage: structprune <command> [options]   (structprune <command> --help for its options)\n"
    "commands:\n"
    "  prune    prune MODEL.onnx -o OUT.onnx: remove channels, verify, export, report\n"
    "  info     info MODEL.onnx: layers, shapes, params, FLOPs, prunable groups\n"
    "  run      run MODEL.onnx --input input_0.pb --output-dir DIR: one forward pass\n"
    "  bench    bench MODEL.onnx: latency (median, p90) and throughput\n"
    "  demo     build a built-in CNN, prune 50%, verify, print the before/after table\n"
    "exit codes: 0 ok, 1 verification failed, 2 bad input\n";

int Dispatch(const std::string& command, const std::vector<std::string>& args) {
  if (command == "prune") return structprune::cli::PruneMain(args);
  if (command == "info") return structprune::cli::InfoMain(args);
  if (command == "run") return structprune::cli::RunMain(args);
  if (command == "bench") return structprune::cli::BenchMain(args);
  if (command == "demo") {
    if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
      std::fputs(
          "usage: structprune demo\n\nBuilds a built-in CNN, prunes 50% of its channels by L1 "
          "saliency, verifies the pruned\nmodel against the masked one and prints the "
          "before/after table (parameters, FLOPs,\nlatency). Exit codes: 0 ok, 1 verification "
          "failed, 2 error.\n",
          stdout);
      return kExitOk;
    }
    if (!args.empty()) {
      std::fprintf(stderr, "structprune demo: unexpected argument '%s' (demo takes none)\n",
                   args[0].c_str());
      return kExitBadInput;
    }
    return structprune::RunDemo();
  }
  std::fprintf(stderr, "structprune: unknown command '%s' (see 'structprune --help')\n",
               command.c_str());
  return kExitBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) {
      std::fputs("structprune: missing command (see 'structprune --help')\n", stderr);
      return kExitBadInput;
    }
    const std::string command = argv[1];
    if (command == "help" && argc > 2) return Dispatch(argv[2], {"--help"});  // help <command>
    if (command == "--help" || command == "-h" || command == "help") {
      std::fputs(kUsage, stdout);
      return kExitOk;
    }
    return Dispatch(command, std::vector<std::string>(argv + 2, argv + argc));
  } catch (const std::bad_alloc&) {
    std::fputs("structprune: out of memory\n", stderr);
    return kExitBadInput;
  } catch (const std::exception& e) {
    // Our APIs return Status; reaching here is a bug, still reported as one line.
    std::fprintf(stderr, "structprune: internal error: %s\n", e.what());
    return kExitBadInput;
  }
}
