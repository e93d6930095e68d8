// LSTM (nn.LSTM): num_layers, bias, batch_first, optional initial state. Returns
// (output, (h_n, c_n)), reachable with getitem. Gate blocks in PyTorch order i, f, g, o.
#ifndef STRUCTPRUNE_OPS_LSTM_H_
#define STRUCTPRUNE_OPS_LSTM_H_

#include "ops/op_def.h"

namespace structprune {

struct LstmAttrs {
  int64_t input_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 1;
  bool bias = true;
  bool batch_first = false;
  // ONNX LSTM's P (PyTorch has no peepholes): parameter peephole_lk [3H] per layer, blocks
  // p_i, p_f, p_o. i = sigmoid(.. + p_i * c_{t-1}), f = sigmoid(.. + p_f * c_{t-1}),
  // o = sigmoid(.. + p_o * c_t). Runs on the reference kernel.
  bool peepholes = false;
  static OpKind Kind();
  AttrMap ToAttrs() const;
};

// Module parameters per layer k: weight_ih_lk [4H, in_k], weight_hh_lk [4H, H],
// bias_ih_lk [4H], bias_hh_lk [4H]; in_0 = input_size, in_k = H after; with peepholes also
// peephole_lk [3H] (zeros initially).
// Inputs: x [T, B, I] ([B, T, I] when batch_first, [T, I] unbatched), then optionally
// h0 and c0 [L, B, H] ([L, H] unbatched).
extern const OpDef kLstmOp;

namespace internal {
// What an LSTM kernel needs (ops/onednn/lstm.h builds the fast one from it).
struct LstmLayer {
  Tensor weight_ih;  // [4H, in]
  Tensor weight_hh;  // [4H, H]
  Tensor bias;       // [4H] = bias_ih + bias_hh, or undefined
  Tensor peephole;   // [3H] = p_i, p_f, p_o, or undefined
};
struct LstmGeometry {
  int64_t T, B, I, H, L;
  bool batched, batch_first, has_state;
};
}  // namespace internal

}  // namespace structprune

#endif  // STRUCTPRUNE_OPS_LSTM_H_
