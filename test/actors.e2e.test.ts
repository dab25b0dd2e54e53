/**
 * Custom actors end to end, through the real CLI: pipelines of actors defined here (TypeScript modules
 * loaded without a build step) change exactly the token stream the trainer consumes, are counted in
 * pipeline_stats.json, write their dropped documents, survive a restart and a kill -9 + resume with the
 * same token stream, and a broken batch stops the run naming the actor, the field and the YAML line.
 */
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { decompress } from 'fzstd';
import { runCli, tinyDataset, tinyModelDir, tmpDir } from './helpers';

const dir = tmpDir('ptflow-actors-');
const model = tinyModelDir(dir);
const data = tinyDataset(dir, 24);
const texts: string[] = readFileSync(path.join(data, 'kjv.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);

writeFileSync(
  path.join(dir, 'drop_word.ts'),
  `import { defineFilter, z } from 'ptflow';
export default defineFilter({
  name: 'drop_word',
  options: z.object({ word: z.string() }),
  init: (o) => o.word,
  keep: (text: string, _doc, word: string) => (text.includes(word) ? 'has_word' : true),
});
`,
);
// Stateful: drops every third document it sees (a counter across batches), resumable via snapshot/restore.
// With option fail_once (a file path) it throws once half-way through a batch, its counter already moved.
writeFileSync(
  path.join(dir, 'every_third.ts'),
  `import { existsSync, writeFileSync } from 'node:fs';
import { defineActor, docsBatch, readDocs, z } from 'ptflow';
interface State { seen: number; failOnce: string | null }
export default defineActor({
  name: 'every_third', input: 'docs', output: 'docs',
  options: z.object({ fail_once: z.string().nullable().default(null) }),
  init: (o): State => ({ seen: 0, failOnce: o.fail_once }),
  process(batch, s: State, ctx) {
    const kept = [];
    for (const d of readDocs(batch)) {
      s.seen++;
      if (s.seen === 5 && s.failOnce !== null && !existsSync(s.failOnce)) {
        writeFileSync(s.failOnce, '');
        throw new Error('failing once on purpose');
      }
      if (s.seen % 3 === 0) ctx.drop('third', d); else kept.push(d);
    }
    return docsBatch(kept);
  },
  snapshot: (s: State) => ({ seen: s.seen }),
  restore: (snap, o) => ({ seen: (snap as { seen: number }).seen, failOnce: o.fail_once }),
});
`,
);
writeFileSync(
  path.join(dir, 'broken.ts'),
  `import { defineActor, tokensBatch } from 'ptflow';
export default defineActor({ name: 'broken', input: 'docs', output: 'docs', process: () => tokensBatch([{ id: 1, ids: new Int32Array([1, 2]) }]) });
`,
);

const BASE = [
  `model_name_or_path: ${model}`, 'train_from_scratch: true', 'do_train: true', 'finetuning_type: full', 'dataset: kjv', `dataset_dir: ${data}`,
  'cutoff_len: 16', 'per_device_train_batch_size: 2', 'max_steps: 4', 'logging_steps: 2', 'save_steps: 2', 'learning_rate: 0.01', 'seed: 5',
];

function config(name: string, lines: string[]): string {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, [...BASE, ...lines].join('\n') + '\n');
  return file;
}

function trace(file: string): { step: number; sum: number }[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; sum: number }).map((e) => ({ step: e.step, sum: e.sum }));
}

function stats(out: string): { steps: Record<string, Record<string, number>>; actors: Record<string, { restarts: number }> } {
  return JSON.parse(readFileSync(path.join(out, 'pipeline_stats.json'), 'utf8'));
}

async function train(cfg: string, out: string, env: Record<string, string> = {}) {
  return runCli(['train', cfg, `output_dir=${out}`, 'overwrite_output_dir=true'], { env });
}

describe('custom actors in the pipeline (end to end)', () => {
  const WORD = 'LORD';
  const dropped = texts.map((t, i) => [t, i] as const).filter(([t]) => t.includes(WORD)).map(([, i]) => i);

  it('a filter changes the token stream exactly as removing those documents from the data would', async () => {
    expect(dropped.length).toBeGreaterThan(2);
    expect(dropped.length).toBeLessThan(texts.length - 4);
    // The same corpus without the documents the filter drops, as a second dataset.
    const kept = texts.filter((t) => !t.includes(WORD));
    writeFileSync(path.join(data, 'kept.jsonl'), kept.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    writeFileSync(path.join(data, 'dataset_info.json'), JSON.stringify({
      kjv: { file_name: 'kjv.jsonl', columns: { prompt: 'text' } }, kept: { file_name: 'kept.jsonl', columns: { prompt: 'text' } },
    }));
    const filtered = config('filtered', [
      'pipeline:', '  - actor: ./drop_word.ts', '    after: DatasetShardActor', `    options: { word: ${WORD} }`, `    exclusion_dir: ${path.join(dir, 'excluded')}`,
    ]);
    const plain = config('plain', ['dataset: kept'].filter(() => false));
    const a = await train(filtered, path.join(dir, 'out-filtered'), { PTFLOW_TRACE_BATCHES: path.join(dir, 'filtered.trace') });
    if (a.code !== 0) throw new Error(a.stderr);
    const b = await runCli(['train', plain, 'dataset=kept', `output_dir=${path.join(dir, 'out-plain')}`], { env: { PTFLOW_TRACE_BATCHES: path.join(dir, 'plain.trace') } });
    if (b.code !== 0) throw new Error(b.stderr);
    expect(trace(path.join(dir, 'filtered.trace'))).toEqual(trace(path.join(dir, 'plain.trace')));

    expect(stats(path.join(dir, 'out-filtered')).steps.drop_word).toEqual({ seen: 24, kept: 24 - dropped.length, dropped_has_word: dropped.length });
    const lines = Buffer.from(decompress(readFileSync(path.join(dir, 'excluded', 'drop_word.jsonl.zst')))).toString().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [Number(l.id), l.reason, l.text])).toEqual(dropped.map((i) => [i, 'has_word', texts[i]]));
  }, 240_000);

  describe('a stateful actor (snapshot/restore)', () => {
    const cfg = config('stateful', ['pipeline:', '  - actor: ./every_third.ts', '    after: DatasetShardActor']);
    const reference = path.join(dir, 'out-ref');
    let refTrace: { step: number; sum: number }[];
    beforeAll(async () => {
      const r = await train(cfg, reference, { PTFLOW_TRACE_BATCHES: path.join(dir, 'ref.trace') });
      if (r.code !== 0) throw new Error(r.stderr);
      refTrace = trace(path.join(dir, 'ref.trace'));
      expect(stats(reference).steps.every_third).toEqual({ seen: 24, kept: 16, dropped_third: 8 });
    }, 240_000);

    it('throwing half-way through a batch is restarted from its snapshot: same token stream, counted once', async () => {
      const out = path.join(dir, 'out-restart');
      const failing = config('failing', ['pipeline:', '  - actor: ./every_third.ts', '    after: DatasetShardActor', `    options: { fail_once: ${path.join(dir, 'failed-once')} }`]);
      const r = await train(failing, out, { PTFLOW_TRACE_BATCHES: path.join(dir, 'restart.trace') });
      if (r.code !== 0) throw new Error(r.stderr);
      expect(trace(path.join(dir, 'restart.trace'))).toEqual(refTrace);
      expect(stats(out).steps.every_third).toEqual({ seen: 24, kept: 16, dropped_third: 8 });
      expect(stats(out).actors.every_third.restarts).toBe(1);
      expect(existsSync(path.join(dir, 'failed-once'))).toBe(true);
    }, 240_000);

    it('kill -9 after step 3 and resume: the same token stream as the uninterrupted run', async () => {
      const out = path.join(dir, 'out-killed');
      const tr = path.join(dir, 'killed.trace');
      const first = await train(cfg, out, { PTFLOW_TRACE_BATCHES: tr, PTFLOW_FAULTS: 'kill-after-step@3' });
      expect(first.signal).toBe('SIGKILL');
      const second = await runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_TRACE_BATCHES: tr } });
      if (second.code !== 0) throw new Error(second.stderr);
      expect(second.stderr).toMatch(/Resuming training from .*checkpoint-2/);
      // Steps 1–3 from the first run, then 3–4 again after resuming from checkpoint-2: the last of each is what the model saw.
      const last = new Map<number, number>();
      for (const t of trace(tr)) last.set(t.step, t.sum);
      expect([...last.entries()]).toEqual(refTrace.map((t) => [t.step, t.sum]));
    }, 240_000);
  });

  it('a batch that breaks the edge contract stops the run before training, naming actor, field and YAML line', async () => {
    const cfg = config('broken', ['pipeline:', '  - actor: gopher_quality', '    after: DatasetShardActor', '  - actor: ./broken.ts', '    after: gopher_quality']);
    const out = path.join(dir, 'out-broken');
    const r = await train(cfg, out);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipeline step 'broken' \(.*broken\.yaml:17\): process output does not match the docs edge: field 'source' is missing/);
    expect(existsSync(out) ? readdirSync(out).filter((n) => n.startsWith('checkpoint-')) : []).toEqual([]);
  }, 120_000);
});
