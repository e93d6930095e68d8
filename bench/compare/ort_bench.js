// Times ONNX models in ONNX Runtime's CPU provider (npm package onnxruntime-node), for
// scripts/compare.sh:
//
//   node ort_bench.js --threads N [--seconds S] [--min-iters K] FILE.onnx SHAPES_JSON ...
//
// SHAPES_JSON lists the float32 inputs' shapes, e.g. '[[1, 3, 224, 224]]'. Sessions use
// intraOpNumThreads N, interOpNumThreads 1, sequential execution and every graph
// optimization. After a warm-up, passes are timed until S seconds and K passes have gone.
// Prints one JSON line per file: {"file", "median_ms", "iters"}.
'use strict';
const ort = require('onnxruntime-node');

function parseArgs(argv) {
  const opts = {threads: 0, seconds: 1.5, minIters: 10, models: []};
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--threads') opts.threads = Number(argv[++i]);
    else if (a === '--seconds') opts.seconds = Number(argv[++i]);
    else if (a === '--min-iters') opts.minIters = Number(argv[++i]);
    else opts.models.push({file: a, shapes: JSON.parse(argv[++i])});
  }
  if (!(opts.threads >= 1) || opts.models.length === 0) {
    throw new Error(
        'usage: ort_bench.js --threads N [--seconds S] [--min-iters K] FILE SHAPES_JSON ...');
  }
  return opts;
}

// Deterministic standard-normal-ish inputs (sum of uniforms from a fixed LCG).
function randomInput(shape, seed) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  for (let i = 0; i < n; ++i) data[i] = next() + next() + next() + next() - 2;
  return new ort.Tensor('float32', data, shape);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timeModel({file, shapes}, opts) {
  const session = await ort.InferenceSession.create(file, {
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const feeds = {};
  session.inputNames.forEach((name, i) => (feeds[name] = randomInput(shapes[i], 7 + i)));
  const now = () => Number(process.hrtime.bigint()) / 1e6;  // ms
  const warmEnd = now() + Math.min(200, (opts.seconds * 1000) / 5);
  for (let i = 0; i < 1000; ++i) {
    await session.run(feeds);
    if (i >= 1 && now() > warmEnd) break;
  }
  const samples = [];
  const end = now() + opts.seconds * 1000;
  while ((samples.length < opts.minIters || now() < end) && samples.length < 100000) {
    const t0 = now();
    await session.run(feeds);
    samples.push(now() - t0);
  }
  await session.release();
  return {file, median_ms: median(samples), iters: samples.length};
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const model of opts.models) console.log(JSON.stringify(await timeModel(model, opts)));
}

main().catch((e) => {
  console.error(`ort_bench.js: ${e.message || e}`);
  process.exit(1);
});
