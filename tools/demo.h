// `structprune demo`: the main job on a built-in model.
#ifndef STRUCTPRUNE_TOOLS_DEMO_H_
#define STRUCTPRUNE_TOOLS_DEMO_H_

namespace structprune {

// Builds the built-in model, runs it and prints its layer table. Returns the exit code.
int RunDemo();

}  // namespace structprune

#endif  // STRUCTPRUNE_TOOLS_DEMO_H_
