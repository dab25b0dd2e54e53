/**
 * A stateful custom step on the batches edge (between the collator and the trainer), through the real
 * CLI: its snapshot after each micro-batch travels in that batch's data cursor into the checkpoint, so a
 * run killed with -9 and resumed trains on exactly the batches, and logs exactly the losses, of an
 * uninterrupted one — in a map-style run (the collator seeks to the cursor: the step never sees the
 * batches before it again) and in a streamed one. The step drops some micro-batches and splits others
 * in two, so the data cursor runs ahead of and behind the step count: the cursor is where the data
 * continues. A checkpoint written between the two halves of a split resumes exactly too: its cursor
 * starts the data at the micro-batch that was split, and the step drops the half trained on already.
 *
 * The checkpoint records the pipeline: resuming it with another actor module is refused, naming the
 * step. One that does not (an older ptflow's) resumes, saying so once; resumed by the step without
 * `snapshot` (map-style), the step restarts empty, the stream differs, and the resume says so once.
 */
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const dir = tmpDir('ptflow-batch-step-');
const model = tinyModelDir(dir);
const data = tinyDataset(dir, 12);

// Counts the micro-batches it sees (across epochs) and changes each by that count: the rows rotated by
// n mod rows (the token stream), and on every third batch the first row's labels ignored (the loss);
// batch n = 4 mod 5 is dropped, batch n = 6 mod 7 is sent as two batches of half its rows.
// Steps 1..16 train on the batches n = 0 1 2 3 5 6a 6b 7 8 10 11 12 13a 13b 15 16 (a/b: the halves).
// Checkpoint-6 falls between 6a and 6b; checkpoint-12 after n = 12, with n = 13 the count to restore.
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
    if (n % 5 === 4) return [];
    const labels = rotate(b.labels, by);
    if (n % 3 === 0 && b.batchSize > 1) labels.fill(-100, 0, b.seqLen);
    const out = { ...b, inputIds: rotate(b.inputIds, by), attentionMask: rotate(b.attentionMask, by), labels,
      positionIds: b.positionIds && rotate(b.positionIds, by), segmentIds: b.segmentIds && rotate(b.segmentIds, by) };
    if (n % 7 !== 6 || b.batchSize < 2) return trainBatch(out);
    const rows = (a: Int32Array | undefined, from: number, to: number) => a && a.slice(from * b.seqLen, to * b.seqLen);
    const half = (from: number, to: number) => trainBatch({ batchSize: to - from, seqLen: b.seqLen, inputIds: rows(out.inputIds, from, to)!,
      attentionMask: rows(out.attentionMask, from, to)!, labels: rows(out.labels, from, to)!, positionIds: rows(out.positionIds, from, to), segmentIds: rows(out.segmentIds, from, to) });
    const mid = Math.floor(b.batchSize / 2);
    return [half(0, mid), half(mid, b.batchSize)];
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
  meta: { kind?: string; from?: { steps?: Record<string, { n: number }> }; skip?: unknown; steps?: Record<string, { n: number }> };
}
const readTrace = (file: string): TraceLine[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TraceLine);
const TIMING = /_runtime$|_per_second$/;
const history = (out: string): Record<string, number>[] =>
  (JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8')).log_history as Record<string, number>[]).map((e) =>
    Object.fromEntries(Object.entries(e).filter(([k]) => !TIMING.test(k))),
  );
/** The steps of the first run up to the checkpoint, then the resumed run's (PTFLOW_TRACE_BATCHES appends). */
const stitch = (t: TraceLine[]): [number, number][] => {
  const resumedAt = t.findIndex((l, i) => i > 0 && l.step <= t[i - 1].step);
  expect(t[resumedAt].step).toBe(13);
  return [...t.slice(0, resumedAt).filter((l) => l.step <= 12), ...t.slice(resumedAt)].map((l) => [l.step, l.sum]);
};

const base = {
  model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
  dataset: 'kjv', dataset_dir: data, cutoff_len: 32, val_size: 2, buffer_size: 5,
  per_device_train_batch_size: 4, learning_rate: 0.01, max_steps: 16, logging_steps: 2, save_steps: 6, seed: 3, tokenizer_workers: 1,
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
    // The cursor after step 12 holds the step's count after the 13 batches n = 0..12: a step restarted
    // empty would rotate (13 mod 4 ≠ 0), drop and split the batches after it differently.
    expect(refTrace[11].meta.steps).toEqual({ rotate_rows: { n: 13 } });
    // ...and the data after those 13 collator micro-batches (two dropped, one split): not where 12 steps would leave it.
    const ck12 = JSON.parse(readFileSync(path.join(ref, 'checkpoint-12', 'ptflow_state.json'), 'utf8')) as {
      cursor: { epoch?: number; micro: number }; data_settings: { micro_per_epoch: number | null; pipeline: { name: string; input: string }[] };
    };
    const perEpoch = ck12.data_settings.micro_per_epoch;
    expect(perEpoch === null ? ck12.cursor.micro : ck12.cursor.epoch! * perEpoch + ck12.cursor.micro).toBe(13);
    expect(ck12.data_settings.pipeline).toMatchObject([{ name: 'rotate_rows', input: 'batches' }]);
    // Step 6 trained on the first half of n = 6: its cursor starts before n = 6 (the step's count 6 there)
    // and skips one half; step 7 trained on the second half, with the cursor after n = 6.
    expect(refTrace[5].meta).toMatchObject({ kind: 'split', from: { steps: { rotate_rows: { n: 6 } } }, skip: [{ step: 'rotate_rows', outputs: 1 }] });
    expect(refTrace[6].meta.kind).not.toBe('split');
    expect(refTrace[6].meta.steps).toEqual({ rotate_rows: { n: 7 } });
    // Resumed from checkpoint-6: the second half, then the rest, as in the uninterrupted run.
    const from6 = path.join(dir, `${mode}-from-6`);
    cpSync(path.join(ref, 'checkpoint-6'), path.join(from6, 'checkpoint-6'), { recursive: true });
    writeFileSync(`${from6}.trace`, readFileSync(`${ref}.trace`, 'utf8').split('\n').slice(0, 6).join('\n') + '\n');
    const fromSplit = await runCli(['train', cfg(`${mode}-from-6`, streaming, './rotate_rows.ts')], { env: { PTFLOW_TRACE_BATCHES: `${from6}.trace` } });
    if (fromSplit.code !== 0) throw new Error(fromSplit.stderr);
    expect(fromSplit.stderr).toMatch(/Resuming training from .*checkpoint-6/);
    expect(fromSplit.stderr).not.toMatch(/not guaranteed to match/);
    expect(readTrace(`${from6}.trace`).map((l) => [l.step, l.sum])).toEqual(refTrace.map((l) => [l.step, l.sum]));
    expect(history(from6)).toEqual(history(ref));

    const out = path.join(dir, `${mode}-killed`);
    const b1 = await runCli(['train', cfg(`${mode}-killed`, streaming, './rotate_rows.ts')], { env: { PTFLOW_TRACE_BATCHES: `${out}.trace`, PTFLOW_FAULTS: 'kill-after-step@13' } });
    expect(b1.signal).toBe('SIGKILL');
    // The same checkpoint, resumed below with another actor module: refused, naming the step.
    if (!streaming) {
      cpSync(out, `${out}-changed`, { recursive: true });
      cpSync(`${out}.trace`, `${out}-changed.trace`);
    }

    const b2 = await runCli(['train', cfg(`${mode}-killed`, streaming, './rotate_rows.ts')], { env: { PTFLOW_TRACE_BATCHES: `${out}.trace` } });
    if (b2.code !== 0) throw new Error(b2.stderr);
    expect(b2.stderr).toMatch(/Resuming training from .*checkpoint-12/);
    expect(b2.stderr).not.toMatch(/not guaranteed to match/);
    expect(stitch(readTrace(`${out}.trace`))).toEqual(refTrace.map((l) => [l.step, l.sum]));
    expect(history(out)).toEqual(history(ref));

    if (streaming) return;
    const changed = await runCli(['train', cfg(`${mode}-killed-changed`, streaming, './rotate_rows_nosnap.ts')]);
    expect(changed.code).toBe(2);
    expect(changed.stderr).toMatch(
      /cannot resume \S+checkpoint-12 exactly: the data order depends on settings that changed since it was written: pipeline step 'rotate_rows': the actor module's source changed \(\S+rotate_rows_nosnap\.ts: sha256:[0-9a-f]{12} → sha256:[0-9a-f]{12}\)\. Restore them/,
    );

    // A checkpoint of an older ptflow does not record its pipeline: it resumes, saying once that a change cannot be
    // checked. Here it is resumed by the step without snapshot: the step restarts empty, the stream differs, and
    // the resume says so once (the streamed case is src/actors/resume-exactness.test.ts's).
    const psFile = path.join(`${out}-changed`, 'checkpoint-12', 'ptflow_state.json');
    const ps = JSON.parse(readFileSync(psFile, 'utf8')) as { data_settings: Record<string, unknown> };
    delete ps.data_settings.pipeline;
    writeFileSync(psFile, JSON.stringify(ps));
    const c = await runCli(['train', cfg(`${mode}-killed-changed`, streaming, './rotate_rows_nosnap.ts')], { env: { PTFLOW_TRACE_BATCHES: `${out}-changed.trace` } });
    if (c.code !== 0) throw new Error(c.stderr);
    expect(c.stderr.match(/note: \S+checkpoint-12 does not record its pipeline: steps \(written by an older ptflow\): a change of them since then cannot be checked/g)).toHaveLength(1);
    expect(c.stderr.match(/warning: resuming .*'rotate_rows'.*not guaranteed to match an uninterrupted run/g)).toHaveLength(1);
    expect(stitch(readTrace(`${out}-changed.trace`))).not.toEqual(refTrace.map((l) => [l.step, l.sum]));
  }, 600_000);
});

// A stateless step run by two workers (the pooled path) that halves every micro-batch: every odd step
// ends in the middle of a split. Checkpoint-3 holds the first half of the second micro-batch.
const HALVES = `import { defineActor, readTrainBatch, trainBatch } from 'ptflow';
export default defineActor({
  name: 'halves', input: 'batches', output: 'batches',
  process(batch) {
    const b = readTrainBatch(batch);
    const mid = Math.floor(b.batchSize / 2);
    const rows = (a: Int32Array | undefined, from: number, to: number) => a && a.slice(from * b.seqLen, to * b.seqLen);
    const part = (from: number, to: number) => trainBatch({ batchSize: to - from, seqLen: b.seqLen, inputIds: rows(b.inputIds, from, to)!,
      attentionMask: rows(b.attentionMask, from, to)!, labels: rows(b.labels, from, to)!, positionIds: rows(b.positionIds, from, to), segmentIds: rows(b.segmentIds, from, to) });
    return b.batchSize < 2 ? [batch] : [part(0, mid), part(mid, b.batchSize)];
  },
});
`;
writeFileSync(path.join(dir, 'halves.ts'), HALVES);

describe('a stateless splitting step run by two workers (end to end)', () => {
  it('resumes exactly from a checkpoint in the middle of its split', async () => {
    const halvesCfg = (name: string): string => {
      const file = writeYaml(path.join(dir, `${name}.yaml`), { ...base, max_steps: 6, save_steps: 3, streaming: false, output_dir: path.join(dir, name) });
      writeFileSync(file, readFileSync(file, 'utf8') + 'pipeline:\n  - actor: ./halves.ts\n    before: TrainerActor\n    workers: 2\n');
      return file;
    };
    const ref = path.join(dir, 'halves-ref');
    const a = await runCli(['train', halvesCfg('halves-ref')], { env: { PTFLOW_TRACE_BATCHES: `${ref}.trace` } });
    if (a.code !== 0) throw new Error(a.stderr);
    const refTrace = readTrace(`${ref}.trace`);
    expect(refTrace.map((l) => l.meta.kind === 'split')).toEqual([true, false, true, false, true, false]);
    const from3 = path.join(dir, 'halves-from-3');
    cpSync(path.join(ref, 'checkpoint-3'), path.join(from3, 'checkpoint-3'), { recursive: true });
    writeFileSync(`${from3}.trace`, readFileSync(`${ref}.trace`, 'utf8').split('\n').slice(0, 3).join('\n') + '\n');
    const b = await runCli(['train', halvesCfg('halves-from-3')], { env: { PTFLOW_TRACE_BATCHES: `${from3}.trace` } });
    if (b.code !== 0) throw new Error(b.stderr);
    expect(b.stderr).toMatch(/Resuming training from .*checkpoint-3/);
    expect(readTrace(`${from3}.trace`).map((l) => [l.step, l.sum])).toEqual(refTrace.map((l) => [l.step, l.sum]));
    expect(history(from3)).toEqual(history(ref));
  }, 300_000);
});
