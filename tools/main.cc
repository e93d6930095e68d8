// structprune: the command-line program (SPEC section 7).
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include "tools/demo.h"

namespace {

constexpr char kUsage[] =
    "usage: structprune <command> [options]\n"
    "commands:\n"
    "  demo     build a built-in model, run it and print its layer table\n";

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "help") == 0) {
      std::fputs(kUsage, argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
    const std::string command = argv[1];
    if (command == "demo") return structprune::RunDemo();
    std::fprintf(stderr, "structprune: unknown command '%s'\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const std::bad_alloc&) {
    std::fputs("structprune: out of memory\n", stderr);
    return 2;
  }
}
