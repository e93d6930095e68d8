// The seed's default pattern table, one row per pattern. AnyActivation() stands for each of
// the 21 activations and AnyPool2d() for Max/AvgPool2d, in module and functional form.
#include "pruning/pattern.h"
#include "pruning/prune_functions.h"

namespace structprune {

std::vector<Pattern> DefaultPatterns() {
  using enum OpKind;
  return {
      // linear -> output: drop rows of #0; the model's output loses those channels.
      {{CallModule(kLinear), GraphOutput()}, &PruneProducerChain},
      // linear -> act -> output (beyond the seed): the output loses those channels too.
      {{CallModule(kLinear), AnyActivation(), GraphOutput()}, &PruneProducerChain},
      // linear -> linear: drop rows of #0 and columns of #1; fold #0's kept-bias constants.
      {{CallModule(kLinear), CallModule(kLinear)}, &PruneProducerChain},
      // linear -> act -> linear: fold act(constant) into #2's bias.
      {{CallModule(kLinear), AnyActivation(), CallModule(kLinear)}, &PruneProducerChain},
      // conv -> output.
      {{CallModule(kConv2d), GraphOutput()}, &PruneProducerChain},
      // conv -> act -> output (beyond the seed).
      {{CallModule(kConv2d), AnyActivation(), GraphOutput()}, &PruneProducerChain},
      // conv -> conv: a nonzero constant entering a zero-padded conv keeps its channel.
      {{CallModule(kConv2d), CallModule(kConv2d)}, &PruneProducerChain},
      // conv -> act -> conv.
      {{CallModule(kConv2d), AnyActivation(), CallModule(kConv2d)}, &PruneProducerChain},
      // conv -> act -> (max|avg)pool -> conv: pools pass constant channels through.
      {{CallModule(kConv2d), AnyActivation(), AnyPool2d(), CallModule(kConv2d)}, &PruneProducerChain},
      // conv -> (max|avg)pool -> act -> conv.
      {{CallModule(kConv2d), AnyPool2d(), AnyActivation(), CallModule(kConv2d)}, &PruneProducerChain},
      // conv -> adaptive (avg|max) pool -> flatten -> linear: one channel = h*w columns.
      {{CallModule(kConv2d), AnyAdaptivePool2d(), AnyFlatten(), CallModule(kLinear)}, &PruneProducerChain},
      // conv -> act -> adaptive pool -> flatten -> linear (beyond the seed: the usual CNN head).
      {{CallModule(kConv2d), AnyActivation(), AnyAdaptivePool2d(), AnyFlatten(), CallModule(kLinear)},
       &PruneProducerChain},
      // conv -> (max|avg)pool -> conv (beyond the seed).
      {{CallModule(kConv2d), AnyPool2d(), CallModule(kConv2d)}, &PruneProducerChain},
      // lstm -> getitem(0) -> linear: whole hidden units, all four gates.
      {{CallModule(kLstm), GetItem(0), CallModule(kLinear)}, &PruneLstmChain},
      // lstm -> getitem(0) -> layernorm -> linear: exact mode keeps the last layer's units.
      {{CallModule(kLstm), GetItem(0), CallModule(kLayerNorm), CallModule(kLinear)}, &PruneLstmChain},
  };
}

}  // namespace structprune
