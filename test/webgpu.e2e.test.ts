/**
 * `ptflow train` with `backend: webgpu` through the real CLI (worker threads, files): the trainer
 * names the adapter, trains to the same logged losses as `backend: wasm` on the same config, and
 * `pipeline_stats.json` reports the trainer's data wait. Runs on whatever adapter Dawn finds here
 * (Mesa's llvmpipe without a GPU, allowed with webgpu_allow_software); skipped only where no adapter
 * can be created at all, and not then when PTFLOW_REQUIRE_WEBGPU=1 (.ci/run sets it).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DoctorReport } from '../src/workflow/doctor';
import { CLI, runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml, type CliResult } from './helpers';

const report = JSON.parse(
  execFileSync(process.execPath, [CLI, 'doctor', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
) as DoctorReport;
const available = report.adapters.length > 0 || process.env['PTFLOW_REQUIRE_WEBGPU'] === '1';
if (!available) console.warn(`webgpu end-to-end test skipped: no WebGPU adapter here (${report.adapterNotes.join('; ')})`);

(available ? describe : describe.skip)('ptflow train with backend: webgpu (end to end)', () => {
  const dir = tmpDir('ptflow-webgpu-');
  const model = tinyModelDir(dir);
  const data = tinyDataset(dir, 12);
  const runs: Record<'wasm' | 'webgpu', { result: CliResult; out: string }> = {} as never;

  beforeAll(async () => {
    for (const backend of ['wasm', 'webgpu'] as const) {
      const out = path.join(dir, `out-${backend}`);
      const cfg = writeYaml(path.join(dir, `${backend}.yaml`), {
        model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
        dataset: 'kjv', dataset_dir: data, cutoff_len: 32, output_dir: out, per_device_train_batch_size: 2,
        learning_rate: 0.01, max_steps: 4, logging_steps: 1, save_strategy: 'no', seed: 7,
        backend, webgpu_allow_software: true, num_threads: 1,
      });
      runs[backend] = { result: await runCli(['train', cfg]), out };
    }
  }, 600_000);

  test('both runs exit 0; the webgpu one says which adapter it trains on and why', () => {
    for (const r of Object.values(runs)) if (r.result.code !== 0) throw new Error(`exit ${r.result.code}\n${r.result.stderr}`);
    const line = /backend: webgpu on (.+) \((a GPU adapter|software adapter, allowed by webgpu_allow_software)\)/.exec(runs.webgpu.result.stderr);
    expect(line).not.toBeNull();
    expect(line![1]).toContain(report.adapters[0]?.name.split(' ')[0] ?? '');
  });

  test('the same logged losses as wasm (1e-4 relative)', () => {
    const losses = (out: string): number[] =>
      (JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8')) as { log_history: Array<{ loss?: number }> }).log_history
        .filter((e) => e.loss !== undefined)
        .map((e) => e.loss!);
    const w = losses(runs.wasm.out);
    const g = losses(runs.webgpu.out);
    expect(w).toHaveLength(4);
    expect(g).toHaveLength(4);
    g.forEach((l, i) => expect(Math.abs(l - w[i])).toBeLessThanOrEqual(1e-4 * Math.abs(w[i])));
  });

  test('pipeline_stats.json reports the trainer data wait of the webgpu run', () => {
    const stats = JSON.parse(readFileSync(path.join(runs.webgpu.out, 'pipeline_stats.json'), 'utf8')) as {
      trainer: { data_wait_ms: number; train_ms: number; data_wait_fraction: number } | null;
    };
    expect(stats.trainer).not.toBeNull();
    expect(stats.trainer!.train_ms).toBeGreaterThan(0);
    expect(stats.trainer!.data_wait_ms).toBeGreaterThanOrEqual(0);
    expect(stats.trainer!.data_wait_fraction).toBeCloseTo(stats.trainer!.data_wait_ms / (stats.trainer!.train_ms + stats.trainer!.data_wait_ms), 3);
  });
});
