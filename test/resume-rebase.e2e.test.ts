/**
 * `rebase_data_cursor: true` through the real CLI: 3 steps of batch 2, then a resume with batch 4
 * continues with exactly the next unseen block (block 6 of the epoch order), in micro-batches of 4
 * shifted back by 2; a plain resume of the re-based run's checkpoint finishes that epoch and starts the
 * next unshifted. The block stream is checked against an independent run with batch 1 (one block per
 * micro-batch: the epoch order itself), by each row's checksum (PTFLOW_TRACE_BATCHES).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml, type CliResult } from './helpers';

const root = tmpDir('ptflow-rebase-');
const model = tinyModelDir(root);
const data = tinyDataset(root, 2);
const cfg = writeYaml(path.join(root, 'cfg.yaml'), {
  model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
  dataset: 'kjv', dataset_dir: data, cutoff_len: 16, per_device_train_batch_size: 2, learning_rate: 0.01,
  logging_steps: 1, save_steps: 1, seed: 5,
});

interface TraceLine {
  step: number;
  row_sums: number[];
  meta: { epoch: number; micro: number; shift?: number };
}

async function train(out: string, trace: string, args: string[]): Promise<CliResult> {
  const r = await runCli(['train', cfg, `output_dir=${out}`, ...args], { env: { PTFLOW_TRACE_BATCHES: trace }, timeoutMs: 120_000 });
  if (r.code !== 0) throw new Error(`ptflow ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return r;
}
const traced = (file: string): TraceLine[] => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceLine);
const blocksOf = (lines: TraceLine[]): number[] => lines.flatMap((l) => l.row_sums);

describe('rebase_data_cursor', () => {
  it('batch 2 → 4 after 3 steps continues at the next unseen block; a later plain resume finishes the epoch and starts the next', async () => {
    const out = path.join(root, 'out');
    const a = path.join(root, 'a.jsonl');
    const ra = await train(out, a, ['max_steps=3']);
    const n = Number(/→ (\d+) training blocks/.exec(ra.stderr + ra.stdout)?.[1]);
    expect(n).toBeGreaterThan(14);
    // The epoch order, one block per step: epoch 0, then the first blocks of epoch 1.
    await train(path.join(root, 'ref'), path.join(root, 'ref.jsonl'), ['per_device_train_batch_size=1', `max_steps=${n + 4}`, 'save_steps=1000', 'logging_steps=1000']);
    const order = blocksOf(traced(path.join(root, 'ref.jsonl')));
    expect(order).toHaveLength(n + 4);
    const epoch0 = order.slice(0, n);
    expect(new Set(epoch0).size).toBe(n); // distinct blocks: a row checksum identifies its block
    expect(blocksOf(traced(a))).toEqual(epoch0.slice(0, 6));

    // Without the key the change is refused, naming it and the key that accepts it.
    const refused = await runCli(['train', cfg, `output_dir=${out}`, 'max_steps=5', 'per_device_train_batch_size=4'], { timeoutMs: 120_000 });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/per_device_train_batch_size 2 → 4.*rebase_data_cursor: true/);

    const b = path.join(root, 'b.jsonl');
    const rb = await train(out, b, ['max_steps=5', 'per_device_train_batch_size=4', 'rebase_data_cursor=true']);
    expect(rb.stdout + rb.stderr).toMatch(/rebase_data_cursor: per_device_train_batch_size 2 → 4: step 3 of \S+ continues at block 6 of epoch 0/);
    const bl = traced(b);
    expect(bl.map((l) => [l.step, l.row_sums.length])).toEqual([[4, 4], [5, 4]]);
    expect(blocksOf(bl)).toEqual(epoch0.slice(6, 14));

    // A plain resume of the re-based checkpoint (cursor shifted by 2, checked against the anchor).
    const microLeft = Math.ceil((n - 14) / 4);
    const c = path.join(root, 'c.jsonl');
    await train(out, c, [`max_steps=${5 + microLeft + 1}`, 'per_device_train_batch_size=4']);
    const cl = traced(c);
    expect(blocksOf(cl)).toEqual([...epoch0.slice(14), ...order.slice(n, n + 4)]);
    expect(cl[cl.length - 1].meta).toEqual({ epoch: 1, micro: 1 }); // the next epoch is not shifted
  }, 300_000);
});

describe('ignore_data_skip records where the data restarted', () => {
  it.each([['map-style', 'false'], ['streamed', 'true']])('%s: a later resume of the restarted run is checked from there, not refused', async (_kind, streaming) => {
    const out = path.join(root, `ignore-${streaming}`);
    const trace = path.join(root, `ignore-${streaming}.jsonl`);
    await train(out, trace, [`streaming=${streaming}`, 'max_steps=3']);
    const restarted = await train(out, trace, [`streaming=${streaming}`, 'max_steps=5', 'seed=4', 'ignore_data_skip=true']);
    expect(restarted.stdout + restarted.stderr).toMatch(/ignore_data_skip: resuming the weights, optimizer and step 3 of \S+; the training data starts again from its beginning/);
    await train(out, trace, [`streaming=${streaming}`, 'max_steps=7', 'seed=4']);
    // Steps 4–7 read the new order from its start: 4 micro-batches, none repeated, resumed after 5 exactly.
    const after = traced(trace).filter((l) => l.step > 3);
    expect(after.map((l) => l.step)).toEqual([4, 5, 6, 7]);
    const fresh = path.join(root, `ignore-fresh-${streaming}.jsonl`);
    await train(path.join(root, `ignore-fresh-${streaming}`), fresh, [`streaming=${streaming}`, 'max_steps=4', 'seed=4', 'save_steps=100']);
    expect(blocksOf(after)).toEqual(blocksOf(traced(fresh)));
  }, 300_000);
});
