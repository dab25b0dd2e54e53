/**
 * A stateful custom step on the batches edge (between the collator and the trainer), through the real
 * CLI: its snapshot after each micro-batch travels in that batch's data cursor into the checkpoint, so a
 * run killed with -9 and resumed trains on exactly the batches, and logs exactly the losses, of an
 * uninterrupted one — in a map-style run (the collator seeks to the cursor: the step never sees the
 * batches before it again) and in a streamed one. Without `snapshot` (map-style) the step restarts
 * empty, the stream differs, and the resume says so once.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const dir = tmpDir('ptflow-batch-step-');
const model = tinyModelDir(dir);
const data = tinyDataset(dir, 12);

// Counts the micro-batches it sees (across epochs) and changes each by that count: the rows rotated by
// n mod rows (the token stream), and on every third batch the first row's labels ignored (the loss).
const ACTOR = `import { defineActor, readTrainBatch, trainBatch } from 'ptflow';
const rotate = (a: Int32Array, by: number): Int32Array => {
  const out = new Int32Array(a.length);
  out.set(a.subarray(by));
  out.set(a.subarray(0, by), a.length - by);
  return out;
};
export default defineActor({
  name: 'rotate_rows', input: 'batches', output: 'batches',
  init: () => ({ n: 0 }),
  process(batch, s: { n: number }) {
    const b = readTrainBatch(batch);
    const n = s.n++;
    const by = (n % b.batchSize) * b.seqLen;
    const labels = rotate(b.labels, by);
    if (n % 3 === 0 && b.batchSize > 1) labels.fill(-100, 0, b.seqLen);
    return trainBatch({ ...b, inputIds: rotate(b.inputIds, by), attentionMask: rotate(b.attentionMask, by), labels,
      positionIds: b.positionIds && rotate(b.positionIds, by), segmentIds: b.segmentIds && rotate(b.segmentIds, by) });
  },
  //SNAPSHOT
});
`;
writeFileSync(path.join(dir, 'rotate_rows.ts'), ACTOR.replace('//SNAPSHOT', `snapshot: (s: { n: number }) => ({ n: s.n }),
  restore: (snap) => ({ n: (snap as { n: number }).n }),`));
// The same actor without snapshot/restore (declared stateful with parallel: false): its state is not in the checkpoint.
writeFileSync(path.join(dir, 'rotate_rows_nosnap.ts'), ACTOR.replace('//SNAPSHOT', 'parallel: false,'));

interface TraceLine {
  step: number;
  sum: number;
  meta: { steps?: Record<string, { n: number }> };
}
const readTrace = (file: string): TraceLine[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceLine);
const TIMING = /_runtime$|_per_second$/;
const history = (out: string): Record<string, number>[] =>
  (JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8')).log_history as Record<string, number>[]).map((e) =>
    Object.fromEntries(Object.entries(e).filter(([k]) => !TIMING.test(k))),
  );
/** The steps of the first run up to the checkpoint, then the resumed run's (PTFLOW_TRACE_BATCHES appends). */
const stitch = (t: TraceLine[]): [number, number][] => {
  const resumedAt = t.findIndex((l, i) => i > 0 && l.step < t[i - 1].step);
  expect(t[resumedAt].step).toBe(11);
  return [...t.slice(0, resumedAt).filter((l) => l.step <= 10), ...t.slice(resumedAt)].map((l) => [l.step, l.sum]);
};

const base = {
  model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
  dataset: 'kjv', dataset_dir: data, cutoff_len: 32, val_size: 2, buffer_size: 5,
  per_device_train_batch_size: 4, learning_rate: 0.01, max_steps: 16, logging_steps: 2, save_steps: 10, seed: 3, tokenizer_workers: 1,
};
const cfg = (name: string, streaming: boolean, actor: string): string => {
  const file = writeYaml(path.join(dir, `${name}.yaml`), { ...base, streaming, output_dir: path.join(dir, name) });
  writeFileSync(file, readFileSync(file, 'utf8') + `pipeline:\n  - actor: ${actor}\n    before: TrainerActor\n`);
  return file;
};

describe.each([
  ['map-style', false],
  ['streamed', true],
])('a stateful step on the batches edge, %s run (end to end)', (mode, streaming) => {
  it('kill -9 and resume: the step is restored from the checkpoint, the batches and losses are the uninterrupted run\'s', async () => {
    const ref = path.join(dir, `${mode}-ref`);
    const a = await runCli(['train', cfg(`${mode}-ref`, streaming, './rotate_rows.ts')], { env: { PTFLOW_TRACE_BATCHES: `${ref}.trace` } });
    if (a.code !== 0) throw new Error(a.stderr);
    const refTrace = readTrace(`${ref}.trace`);
    // The cursor after step 10 holds the step's count after 10 batches: a step restarted empty would
    // rotate (10 mod 4 ≠ 0) and mask (10 mod 3 ≠ 0) the batches after it differently.
    expect(refTrace[9].meta.steps).toEqual({ rotate_rows: { n: 10 } });

    const out = path.join(dir, `${mode}-killed`);
    const b1 = await runCli(['train', cfg(`${mode}-killed`, streaming, './rotate_rows.ts')], { env: { PTFLOW_TRACE_BATCHES: `${out}.trace`, PTFLOW_FAULTS: 'kill-after-step@12' } });
    expect(b1.signal).toBe('SIGKILL');
    // The same checkpoint, resumed below by the step without snapshot (map-style: the streamed case is src/actors/resume-exactness.test.ts's).
    if (!streaming) {
      cpSync(out, `${out}-nosnap`, { recursive: true });
      cpSync(`${out}.trace`, `${out}-nosnap.trace`);
    }

    const b2 = await runCli(['train', cfg(`${mode}-killed`, streaming, './rotate_rows.ts')], { env: { PTFLOW_TRACE_BATCHES: `${out}.trace` } });
    if (b2.code !== 0) throw new Error(b2.stderr);
    expect(b2.stderr).toMatch(/Resuming training from .*checkpoint-10/);
    expect(b2.stderr).not.toMatch(/not guaranteed to match/);
    expect(stitch(readTrace(`${out}.trace`))).toEqual(refTrace.map((l) => [l.step, l.sum]));
    expect(history(out)).toEqual(history(ref));

    // Without snapshot: the step restarts empty at the checkpoint; the stream differs, and resume says so once.
    if (streaming) return;
    const c = await runCli(['train', cfg(`${mode}-killed-nosnap`, streaming, './rotate_rows_nosnap.ts')], { env: { PTFLOW_TRACE_BATCHES: `${out}-nosnap.trace` } });
    if (c.code !== 0) throw new Error(c.stderr);
    expect(c.stderr.match(/warning: resuming .*'rotate_rows'.*not guaranteed to match an uninterrupted run/g)).toHaveLength(1);
    expect(stitch(readTrace(`${out}-nosnap.trace`))).not.toEqual(refTrace.map((l) => [l.step, l.sum]));
  }, 600_000);
});
