"""Exports the four benchmark models to ONNX (opset 13) with fixed seeds, in eval mode.

    /usr/bin/python3 export_models.py OUT_DIR [NAME...]

writes OUT_DIR/NAME.onnx for each NAME (default: all of mlp resnet18 mobilenet_v2 lstm), each
with one input "x" and one output "y", the shapes bench/models_benchmark.cc times:
  mlp           the seed README's MLP, Linear 700-500-800-600-4 with ReLUs, x [128, 700]
  resnet18      torchvision.models.resnet18(), random weights, x [1, 3, 224, 224]
  mobilenet_v2  torchvision.models.mobilenet_v2(), random weights, x [1, 3, 224, 224]
  lstm          nn.LSTM(64, 256, num_layers=2) -> output[0] -> Linear(256, 10), x [32, 8, 64]
"""
import os
import sys

import torch
import torchvision


class Mlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        widths = [700, 500, 800, 600, 4]
        layers = []
        for i in range(4):
            layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
            if i < 3:
                layers.append(torch.nn.ReLU())
        self.seq = torch.nn.Sequential(*layers)

    def forward(self, x):
        return self.seq(x)


class LstmLinear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = torch.nn.LSTM(64, 256, num_layers=2)
        self.fc = torch.nn.Linear(256, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out)


MODELS = {
    "mlp": (Mlp, [128, 700]),
    "resnet18": (torchvision.models.resnet18, [1, 3, 224, 224]),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, [1, 3, 224, 224]),
    "lstm": (LstmLinear, [32, 8, 64]),
}


def main():
    if len(sys.argv) < 2 or any(n not in MODELS for n in sys.argv[2:]):
        sys.exit(__doc__)
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for name in sys.argv[2:] or MODELS:
        ctor, shape = MODELS[name]
        torch.manual_seed(0)
        model = ctor().eval()
        torch.onnx.export(model, torch.randn(shape), os.path.join(out_dir, name + ".onnx"),
                          opset_version=13, input_names=["x"], output_names=["y"])


if __name__ == "__main__":
    main()
