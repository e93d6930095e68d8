// Runs one ONNX model in ONNX Runtime (onnxruntime-node) on raw float32 inputs.
// Usage: node ort_run.js MANIFEST.json, where the manifest is
//   {"model": "m.onnx", "inputs": [{"file": "in0.bin", "shape": [1, 3]}], "out_dir": "d"}
// Writes out_dir/ort_output_<i>.bin (raw float32) and out_dir/ort_shapes.json.
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

async function main() {
  const manifest = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(manifest.model, {intraOpNumThreads: 1});
  const feeds = {};
  session.inputNames.forEach((name, i) => {
    const spec = manifest.inputs[i];
    const buf = fs.readFileSync(spec.file);
    const data = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
    feeds[name] = new ort.Tensor('float32', Float32Array.from(data), spec.shape);
  });
  const results = await session.run(feeds);
  const shapes = [];
  session.outputNames.forEach((name, i) => {
    const t = results[name];
    fs.writeFileSync(path.join(manifest.out_dir, `ort_output_${i}.bin`), Buffer.from(t.data.buffer));
    shapes.push(t.dims);
  });
  fs.writeFileSync(path.join(manifest.out_dir, 'ort_shapes.json'), JSON.stringify(shapes));
}
main().catch((e) => { console.error(e.message || e); process.exit(1); });
