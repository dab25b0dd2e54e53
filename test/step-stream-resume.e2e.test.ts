/**
 * A stateful custom step in a streamed run (`streaming: true`), through the real CLI: its snapshot
 * travels in the checkpoint's cursor, so a run killed with -9 and resumed consumes exactly the token
 * stream of an uninterrupted one — the reader seeks, it does not re-read what the step saw before.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const dir = tmpDir('ptflow-step-stream-');
const model = tinyModelDir(dir);
const data = tinyDataset(dir, 12);

// Drops every fifth document it sees, counting across batches and epochs (12 documents an epoch: the
// count at an epoch's start differs from epoch to epoch, so a step restarted empty drops others).
writeFileSync(path.join(dir, 'every_fifth.ts'), `import { defineActor, docsBatch, readDocs } from 'ptflow';
export default defineActor({
  name: 'every_fifth', input: 'docs', output: 'docs',
  init: () => ({ seen: 0 }),
  process(batch, s: { seen: number }, ctx) {
    const kept = [];
    for (const d of readDocs(batch)) {
      if (++s.seen % 5 === 0) ctx.drop('fifth', d); else kept.push(d);
    }
    return docsBatch(kept);
  },
  snapshot: (s: { seen: number }) => ({ seen: s.seen }),
  restore: (snap) => ({ seen: (snap as { seen: number }).seen }),
});
`);

interface TraceLine {
  step: number;
  sum: number;
  meta: { shard?: { epoch: number }; steps?: Record<string, { seen: number }> };
}
const readTrace = (file: string): TraceLine[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceLine);

describe('a stateful step in a streamed run (end to end)', () => {
  it('kill -9 and resume: the snapshot in the checkpoint gives the uninterrupted token stream', async () => {
    const base = {
      model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
      dataset: 'kjv', dataset_dir: data, cutoff_len: 128, val_size: 3, streaming: true, buffer_size: 5,
      per_device_train_batch_size: 4, learning_rate: 0.01, max_steps: 16, logging_steps: 4, save_steps: 10, seed: 3, tokenizer_workers: 1,
    };
    const cfg = (name: string) => {
      const file = writeYaml(path.join(dir, `${name}.yaml`), { ...base, output_dir: path.join(dir, name) });
      writeFileSync(file, readFileSync(file, 'utf8') + 'pipeline:\n  - actor: ./every_fifth.ts\n    after: DatasetShardActor\n');
      return file;
    };
    const traceA = path.join(dir, 'a.trace');
    const a = await runCli(['train', cfg('a')], { env: { PTFLOW_TRACE_BATCHES: traceA } });
    if (a.code !== 0) throw new Error(a.stderr);
    const ref = readTrace(traceA);
    // the resume point lies past the first epoch, where the step's count matters
    expect(ref[9].meta.shard!.epoch).toBeGreaterThan(0);
    expect(ref[9].meta.steps!.every_fifth.seen % 5).not.toBe(0);

    const traceB = path.join(dir, 'b.trace');
    const b1 = await runCli(['train', cfg('b')], { env: { PTFLOW_TRACE_BATCHES: traceB, PTFLOW_FAULTS: 'kill-after-step@12' } });
    expect(b1.signal).toBe('SIGKILL');
    const b2 = await runCli(['train', cfg('b')], { env: { PTFLOW_TRACE_BATCHES: traceB } });
    if (b2.code !== 0) throw new Error(b2.stderr);
    expect(b2.stderr).toMatch(/checkpoint-10/);
    expect(b2.stderr).not.toMatch(/not guaranteed to match/);
    const b = readTrace(traceB);
    const resumedAt = b.findIndex((l, i) => i > 0 && l.step < b[i - 1].step);
    expect(b[resumedAt].step).toBe(11);
    const stitched = [...b.slice(0, resumedAt).filter((l) => l.step <= 10), ...b.slice(resumedAt)];
    expect(stitched.map((l) => [l.step, l.sum])).toEqual(ref.map((l) => [l.step, l.sum]));
  }, 600_000);
});
