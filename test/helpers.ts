/**
 * End-to-end test helpers: a tiny real model directory (real tokenizer files, tiny Llama config), a
 * small dataset registry, and a way to run the real CLI in a child process.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const CLI = path.join(ROOT, 'bin', 'ptflow.js');

export function tmpDir(prefix = 'ptflow-e2e-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A tiny Llama (32k real tokenizer, hidden 16) in `dir/model`. */
export function tinyModelDir(dir: string, overrides: Record<string, unknown> = {}): string {
  const m = path.join(dir, 'model');
  mkdirSync(m, { recursive: true });
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(path.join(ROOT, 'examples/tiny-llama', f), path.join(m, f));
  const config = {
    architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32000, hidden_size: 16, intermediate_size: 32,
    num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, hidden_act: 'silu', max_position_embeddings: 128,
    rms_norm_eps: 1e-6, rope_theta: 10000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2, ...overrides,
  };
  writeFileSync(path.join(m, 'config.json'), JSON.stringify(config, null, 2));
  return m;
}

/** `dir/data/dataset_info.json` + `kjv.jsonl` with the first `docs` chapters of the demo corpus. */
export function tinyDataset(dir: string, docs = 24): string {
  const d = path.join(dir, 'data');
  mkdirSync(d, { recursive: true });
  const lines = readFileSync(path.join(ROOT, 'examples/data/kjv_demo.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, docs);
  // Shorter documents keep tokenization fast: the first 600 characters of each chapter.
  const text = lines.map((l) => JSON.stringify({ text: (JSON.parse(l) as { text: string }).text.slice(0, 600) })).join('\n') + '\n';
  writeFileSync(path.join(d, 'kjv.jsonl'), text);
  writeFileSync(path.join(d, 'dataset_info.json'), JSON.stringify({ kjv: { file_name: 'kjv.jsonl', columns: { prompt: 'text' } } }));
  return d;
}

export function writeYaml(file: string, cfg: Record<string, unknown>): string {
  const lines = Object.entries(cfg).map(([k, v]) => `${k}: ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; cliPath?: string } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.cliPath ?? CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Width and height from a PNG's IHDR, after checking its signature. */
export function pngSize(file: string): { width: number; height: number } {
  const b = readFileSync(file);
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!sig.every((v, i) => b[i] === v)) throw new Error(`${file} is not a PNG`);
  if (b.toString('latin1', 12, 16) !== 'IHDR') throw new Error(`${file}: no IHDR`);
  return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
}
