"""Inputs for tests/tools/cli_test.sh: small ONNX models exported by PyTorch 1.13, their
inputs and PyTorch's outputs as TensorProto files, and the configs that depend on names the
exporter chose.

Run with Debian's interpreter (it has torch 1.13 and onnx 1.12); CI only reads the outputs:

    /usr/bin/python3 tests/tools/make_cli_data.py

Writes tests/tools/data/ (replacing it):
  mlp.onnx          Linear(8, 16, bias=False) -> ReLU -> Linear(16, 16) -> ReLU -> Linear(16, 4),
                    batch dimension symbolic ("batch"); fc1 is bias-free, so the exporter
                    stores its weight transposed as onnx::MatMul_<n>
  convnet.onnx      conv-BN-ReLU stem, a residual block (two conv-BN, add, ReLU), a depthwise
                    conv, global average pool, flatten, Linear; BatchNorm kept (PRESERVE)
  lstm.onnx         LSTM(6, 8) -> [0] -> Linear(8, 3), sequence 5, batch 1
  asympool.onnx     Conv(3, 8, 3, pad 1) -> Relu -> MaxPool(2, stride 1, auto_pad SAME_UPPER) ->
                    Conv(8, 8, 3) -> Relu -> AveragePool(2, stride 2, auto_pad SAME_LOWER) ->
                    Conv(8, 4, 1): pools padded on one side only, which PyTorch cannot export
                    (written with onnx.helper; PyTorch computes the output with F.pad)
  padconv.onnx      Conv(3, 8, 3) with positive biases -> ReLU -> Conv(8, 4, 3, padding=1):
                    with prune_bias false a pruned channel is the constant relu(bias) > 0
                    entering a zero-padded conv, so exact pruning keeps it and approximate
                    pruning changes the output
  <model>_input_0.pb, <model>_output_0.pb   an input and PyTorch's output for it
  mlp_config_onnx_name.json   a config naming fc1's weight by its ONNX initializer name
"""

import io
import json
import shutil
from pathlib import Path

import onnx
import onnx.checker
import onnx.numpy_helper
import torch
import torch.nn as nn

OUT = Path(__file__).resolve().parent / "data"


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16, bias=False)
        self.act1 = nn.ReLU()
        self.fc2 = nn.Linear(16, 16)
        self.act2 = nn.ReLU()
        self.fc3 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc3(self.act2(self.fc2(self.act1(self.fc1(x)))))


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.expand = nn.Conv2d(8, 12, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        x = self.relu(self.stem_bn(self.stem(x)))
        y = self.relu(self.bn1(self.conv1(x)))
        x = self.relu(self.bn2(self.conv2(y)) + x)
        x = self.relu(self.expand(self.relu(self.dw(x))))
        return self.fc(torch.flatten(self.pool(x), 1))


class Lstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 8)
        self.linear = nn.Linear(8, 3)

    def forward(self, x):
        return self.linear(self.lstm(x)[0])


class PadConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3)
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 4, 3, padding=1)
        with torch.no_grad():
            self.conv1.bias.copy_(torch.linspace(0.5, 1.0, 8))

    def forward(self, x):
        return self.conv2(self.act(self.conv1(x)))


class AsymPool(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3)
        self.conv3 = nn.Conv2d(8, 4, 1)

    def forward(self, x):
        import torch.nn.functional as F
        x = torch.relu(self.conv1(x))
        # MaxPool SAME_UPPER, kernel 2, stride 1: one pixel of -inf padding at the bottom/right.
        x = F.max_pool2d(F.pad(x, (0, 1, 0, 1), value=float("-inf")), 2, 1)
        x = torch.relu(self.conv2(x))
        # AveragePool SAME_LOWER, kernel 2, stride 2 on 7x7 (from a 9x9 input): one pixel at
        # the top/left, not counted (count_include_pad=0).
        ones = F.pad(torch.ones_like(x), (1, 0, 1, 0))
        x = F.avg_pool2d(F.pad(x, (1, 0, 1, 0)), 2, 2) / F.avg_pool2d(ones, 2, 2)
        return self.conv3(x)


def export_asym_pool(model, x):
    from onnx import helper, TensorProto
    model.eval()
    inits = [onnx.numpy_helper.from_array(t.detach().numpy(), name=n)
             for n, t in model.state_dict().items()]
    def conv(name, x_in, out, pad):
        return helper.make_node("Conv", [x_in, f"{name}.weight", f"{name}.bias"], [out],
                                name=f"/{name}/Conv", pads=[pad] * 4)
    nodes = [
        conv("conv1", "x", "c1", 1),
        helper.make_node("Relu", ["c1"], ["r1"], name="/relu1/Relu"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="/pool1/MaxPool", kernel_shape=[2, 2],
                         auto_pad="SAME_UPPER"),
        conv("conv2", "p1", "c2", 0),
        helper.make_node("Relu", ["c2"], ["r2"], name="/relu2/Relu"),
        helper.make_node("AveragePool", ["r2"], ["p2"], name="/pool2/AveragePool",
                         kernel_shape=[2, 2], strides=[2, 2], auto_pad="SAME_LOWER"),
        conv("conv3", "p2", "y", 0),
    ]
    with torch.no_grad():
        y = model(x)
    graph = helper.make_graph(
        nodes, "asympool", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y.shape))], inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(proto)
    (OUT / "asympool.onnx").write_bytes(proto.SerializeToString())
    save_tensor(x, OUT / "asympool_input_0.pb", "x")
    save_tensor(y, OUT / "asympool_output_0.pb", "y")


def save_tensor(t, path, name):
    proto = onnx.numpy_helper.from_array(t.detach().to(torch.float32).contiguous().numpy(), name=name)
    path.write_bytes(proto.SerializeToString())


def export(name, model, x, dynamic_batch=False, **kwargs):
    model.eval()
    buf = io.BytesIO()
    extra = {}
    if dynamic_batch:
        extra["dynamic_axes"] = {"x": {0: "batch"}, "y": {0: "batch"}}
    torch.onnx.export(model, x, buf, opset_version=13, input_names=["x"], output_names=["y"],
                      **extra, **kwargs)
    proto = onnx.load_from_string(buf.getvalue())
    onnx.checker.check_model(proto)
    (OUT / f"{name}.onnx").write_bytes(buf.getvalue())
    with torch.no_grad():
        y = model(x)
    save_tensor(x, OUT / f"{name}_input_0.pb", "x")
    save_tensor(y, OUT / f"{name}_output_0.pb", "y")
    return proto


def main():
    torch.manual_seed(0)
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)

    mlp = export("mlp", Mlp(), torch.randn(2, 8), dynamic_batch=True)
    # fc1 (bias-free) is stored transposed under an exporter-chosen name.
    matmul = [i.name for i in mlp.graph.initializer if i.name.startswith("onnx::MatMul")]
    assert len(matmul) == 1, matmul
    config = {"defaults": {"sparsity_level": 0.5},
              "groups": [{"tensor_fqn": matmul[0], "sparsity_level": 0.25},
                         {"tensor_fqn": "fc2.weight"}]}
    (OUT / "mlp_config_onnx_name.json").write_text(json.dumps(config, indent=1) + "\n")

    net = ConvNet()
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for bn in (net.stem_bn, net.bn1, net.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 1.5)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    export("convnet", net, torch.randn(1, 3, 8, 8), training=torch.onnx.TrainingMode.PRESERVE,
           do_constant_folding=False)
    export("lstm", Lstm(), torch.randn(5, 1, 6))
    export("padconv", PadConv(), torch.randn(1, 3, 8, 8))
    export_asym_pool(AsymPool(), torch.randn(1, 3, 9, 9))
    for p in sorted(OUT.iterdir()):
        print(p.name, p.stat().st_size)


if __name__ == "__main__":
    main()
