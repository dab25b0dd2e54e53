/**
 * Training beyond the 4 GiB wasm heap, in one run:
 *
 * - `reference`: the reference bench model (8192 vocab, hidden 256, 4 layers, 8 × 128) on wasm,
 *   on cpu with ptflow's typed-array element-wise kernels, and on cpu with the stock ones: what
 *   the cpu backend (the path for runs beyond the heap) costs against wasm, and what the
 *   element-wise kernels bring. Losses must agree.
 * - `big`: the SmolLM-360M architecture (hidden 960, 32 layers, 15 heads, 5 kv heads,
 *   intermediate 2560, vocabulary 49152, tied): 362M parameters, whose weights, gradients and
 *   AdamW state (5.4 GiB) exceed the heap. `backend: auto` takes cpu for it; the same step in
 *   PyTorch eager (bench/torch_step.py, Debian's python3-torch) for comparison.
 *
 * Each run is a fresh process (bench/beyond-heap-step.ts) so each peak RSS is its own.
 *
 *   node dist/bench/beyond-heap.js [--parts reference,big] [--steps 2] [--seq 256] [--torch-threads 1,2] [--json]
 */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { REFERENCE_HF, REFERENCE_SHAPE } from './util/reference-model';

type Row = Record<string, unknown> & { stepMs: number; tokensPerS: number; peakRssBytes: number; losses?: number[] };

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const SMOLLM_360M = {
  model_type: 'llama', vocab_size: 49152, hidden_size: 960, intermediate_size: 2560, num_hidden_layers: 32,
  num_attention_heads: 15, num_key_value_heads: 5, tie_word_embeddings: true, rms_norm_eps: 1e-5, rope_theta: 10000,
  max_position_embeddings: 2048,
};

const PYTHON = '/usr/bin/python3';
const TORCH_SCRIPT = path.resolve(__dirname, '../../bench/torch_step.py');
const STEP_SCRIPT = path.join(__dirname, 'beyond-heap-step.js');

function runJson(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Row | { error: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 1 << 24 });
  const line = (r.stdout ?? '').trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.status !== 0 || line === undefined) {
    return { error: `${path.basename(args[0] ?? cmd)} exited ${r.status}: ${(r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ')}` };
  }
  return JSON.parse(line) as Row;
}

function pythonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env['OPENBLAS_CORETYPE'];
  delete env['OPENBLAS_L2_SIZE'];
  return env;
}

const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;

function describe(label: string, r: Row | { error: string }): string {
  if ('error' in r) return `  ${label}: ${r.error}`;
  const extra = r['estimateBytes'] !== undefined
    ? `, tensors peak ${gib(r['tensorPeakBytes'] as number)} (estimate ${gib(r['estimateBytes'] as number)})`
    : '';
  return `  ${label}: ${r.stepMs.toFixed(0)} ms/step, ${r.tokensPerS.toFixed(0)} tokens/s, peak RSS ${gib(r.peakRssBytes)}${extra}; losses ${(r.losses ?? []).map((l) => l.toFixed(4)).join(' ')}`;
}

function main(): void {
  const parts = arg('parts', 'reference,big').split(',');
  const steps = arg('steps', '2');
  const seq = arg('seq', '256');
  const torchThreads = arg('torch-threads', '1,2').split(',');
  const json = process.argv.includes('--json');
  const out: Record<string, unknown> = { loadavgStart: os.loadavg() };
  if (!json) console.log(`machine: ${os.cpus().length} cores, ${gib(os.totalmem())}; load average at start ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  if (parts.includes('reference')) {
    const base = ['--config', JSON.stringify(REFERENCE_HF), '--batch', String(REFERENCE_SHAPE.batchSize), '--seq', String(REFERENCE_SHAPE.seqLen), '--steps', steps];
    const wasm = runJson(process.execPath, [STEP_SCRIPT, ...base, '--backend', 'wasm']);
    const typed = runJson(process.execPath, [STEP_SCRIPT, ...base, '--backend', 'cpu', '--elementwise', 'typed']);
    const stock = runJson(process.execPath, [STEP_SCRIPT, ...base, '--backend', 'cpu', '--elementwise', 'stock']);
    const ratio = (a: Row | { error: string }, b: Row | { error: string }): number => ('error' in a || 'error' in b ? NaN : a.tokensPerS / b.tokensPerS);
    out['reference'] = { wasm, cpuTyped: typed, cpuStock: stock, typedOverStock: ratio(typed, stock), typedOverWasm: ratio(typed, wasm) };
    if (!json) {
      console.log(`\nreference model, batch ${REFERENCE_SHAPE.batchSize} × seq ${REFERENCE_SHAPE.seqLen}:`);
      console.log(describe('wasm', wasm));
      console.log(describe('cpu, typed-array element-wise kernels', typed));
      console.log(describe('cpu, stock element-wise kernels', stock));
      console.log(`  ratios: cpu typed-array ${ratio(typed, stock).toFixed(2)}× cpu stock tokens/s; cpu typed-array ${ratio(typed, wasm).toFixed(2)}× wasm`);
    }
  }
  if (parts.includes('big')) {
    const cfg = JSON.stringify(SMOLLM_360M);
    const pt = runJson(process.execPath, [STEP_SCRIPT, '--config', cfg, '--batch', '1', '--seq', seq, '--steps', steps, '--backend', 'auto']);
    const torch = torchThreads.map((t) =>
      runJson(PYTHON, [TORCH_SCRIPT, '--config', cfg, '--batch', '1', '--seq', seq, '--threads', t, '--steps', steps], pythonEnv()),
    );
    const ok = torch.filter((r): r is Row => !('error' in r)).sort((a, b) => a.stepMs - b.stepMs);
    const speedup = ok[0] && !('error' in pt) ? pt.tokensPerS / ok[0].tokensPerS : NaN;
    const rss = ok[0] && !('error' in pt) ? pt.peakRssBytes / ok[0].peakRssBytes : NaN;
    out['big'] = { ptflow: pt, torch, speedup, rssRatio: rss };
    if (!json) {
      console.log(`\nSmolLM-360M architecture (vocab 49152, tied), batch 1 × seq ${seq}:`);
      if (!('error' in pt)) {
        console.log(`  ${(pt['params'] as number / 1e6).toFixed(0)}M parameters; weights + gradients + AdamW state ${gib(pt['stateBytes'] as number)}; backend auto → ${pt['backend']} (${(pt['notes'] as string[]).filter((n) => n.startsWith('wasm')).join('; ')}); checkpointing ${pt['checkpointing'] ? 'on' : 'off'}`);
      }
      console.log(describe('ptflow', pt));
      torch.forEach((r, i) => console.log(describe(`pytorch (${torchThreads[i]} threads)`, r)));
      console.log(`  ratios: ptflow ${speedup.toFixed(2)}× PyTorch tokens/s (best thread setting); peak RSS ${rss.toFixed(2)}× PyTorch's`);
    }
  }
  out['loadavgEnd'] = os.loadavg();
  if (json) console.log(JSON.stringify(out));
  else console.log(`\nload average at end ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} (the machine is shared: ratios, not absolute times)`);
}

main();
