/**
 * `pipeline:` steps in `ptflow prepare`, through the real CLI: a corpus prepared through steps defined
 * here (a stateless filter, a stateful actor and exact_dedup) is cached filtered, and training from that
 * cache consumes exactly the micro-batches of the run that filters in memory; several ranks each filter
 * their own slice (a dedup works within a rank's slice); a changed step option makes the cache stale,
 * naming the step.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decompress } from 'fzstd';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const dir = tmpDir('ptflow-prepare-steps-');
const model = tinyModelDir(dir);
const data = tinyDataset(dir, 24);
const texts: string[] = readFileSync(path.join(data, 'kjv.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { text: string }).text);
// 26 documents: text 2 again at index 5 (both in rank 0's half of 2), text 3 again last (rank 1's half).
const dup = [...texts.slice(0, 5), texts[2], ...texts.slice(5), texts[3]];
writeFileSync(path.join(data, 'dup.jsonl'), dup.map((text) => JSON.stringify({ text })).join('\n') + '\n');
writeFileSync(path.join(data, 'dataset_info.json'), JSON.stringify({
  kjv: { file_name: 'kjv.jsonl', columns: { prompt: 'text' } }, dup: { file_name: 'dup.jsonl', columns: { prompt: 'text' } },
}));

writeFileSync(path.join(dir, 'drop_word.ts'), `import { defineFilter, z } from 'ptflow';
export default defineFilter({
  name: 'drop_word',
  options: z.object({ word: z.string() }),
  init: (o) => o.word,
  keep: (text: string, _doc, word: string) => (text.includes(word) ? 'has_word' : true),
});
`);
// Stateful: drops every third document it sees, counting across batches and splits.
writeFileSync(path.join(dir, 'every_third.ts'), `import { defineActor, docsBatch, readDocs } from 'ptflow';
export default defineActor({
  name: 'every_third', input: 'docs', output: 'docs',
  init: () => ({ seen: 0 }),
  process(batch, s: { seen: number }, ctx) {
    const kept = [];
    for (const d of readDocs(batch)) {
      if (++s.seen % 3 === 0) ctx.drop('third', d); else kept.push(d);
    }
    return docsBatch(kept);
  },
  snapshot: (s: { seen: number }) => ({ seen: s.seen }),
  restore: (snap) => ({ seen: (snap as { seen: number }).seen }),
});
`);

// A word some documents have, but not the duplicated ones (so exact_dedup has something to drop).
const WORD = ['LORD', 'God', 'Israel', 'king', 'land', 'son'].find((w) => {
  const n = texts.filter((t) => t.includes(w)).length;
  return n >= 2 && n <= 12 && !texts[2].includes(w) && !texts[3].includes(w);
})!;
const OTHER_WORD = WORD === 'God' ? 'LORD' : 'God';

const base = {
  model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full', dataset: 'dup',
  dataset_dir: data, cutoff_len: 32, val_size: 4, per_device_train_batch_size: 2, per_device_eval_batch_size: 4,
  learning_rate: 0.01, max_steps: 4, logging_steps: 2, save_steps: 100, seed: 5,
  backend: 'cpu', tokenizer_workers: 1, output_dir: path.join(dir, 'unused'),
};
/** The three steps, every_third writing what it drops to `excluded` (when given). */
const pipeline = (word: string, excluded?: string) =>
  `pipeline:\n  - actor: ./drop_word.ts\n    after: DatasetShardActor\n    options: { word: "${word}" }\n` +
  '  - actor: exact_dedup\n    after: drop_word\n  - actor: ./every_third.ts\n    after: exact_dedup\n' +
  (excluded ? `    exclusion_dir: ${excluded}\n` : '');
const yaml = (name: string, cfg: Record<string, unknown>, steps: string): string => {
  const file = writeYaml(path.join(dir, name), cfg);
  writeFileSync(file, readFileSync(file, 'utf8') + steps);
  return file;
};

/** step → checksum of its micro-batch. */
function consumed(file: string): [number, number][] {
  const byStep = new Map<number, number>();
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const e = JSON.parse(line) as { step: number; sum: number };
    byStep.set(e.step, e.sum);
  }
  return [...byStep.entries()].sort((a, b) => a[0] - b[0]);
}

const ok = (r: { code: number | null; stderr: string }) => {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
};

const excluded = (f: string) => Buffer.from(decompress(readFileSync(f))).toString().trim().split('\n').map((l) => JSON.parse(l) as { id: string; reason: string; text: string });

const index = (cache: string) => JSON.parse(readFileSync(path.join(cache, 'index.json'), 'utf8')) as {
  splits: Record<string, { documents: number; parts: { first: number; documents: number; planned?: number }[] }>;
  preprocessing: { pipeline?: { name: string }[] };
};

describe('pipeline steps in ptflow prepare (end to end)', () => {
  const cache = path.join(dir, 'tokens');
  const inMemory = yaml('mem.yaml', base, pipeline(WORD, path.join(dir, 'mem-excluded')));
  const cached = yaml('cached.yaml', { ...base, tokenized_path: cache }, pipeline(WORD, path.join(dir, 'cached-excluded')));
  const train = (cfg: string, name: string) => {
    const out = path.join(dir, name);
    return runCli(['train', cfg, `output_dir=${out}`], { env: { PTFLOW_TRACE_BATCHES: `${out}.trace` } }).then((r) => ({ ...r, out, trace: `${out}.trace` }));
  };

  it('a cache prepared through the steps trains on exactly the micro-batches of the run that filters in memory', async () => {
    const a = await train(inMemory, 'mem');
    ok(a);
    const steps = JSON.parse(readFileSync(path.join(a.out, 'pipeline_stats.json'), 'utf8')).steps as Record<string, Record<string, number>>;
    expect(steps.exact_dedup.dropped_duplicate).toBeGreaterThanOrEqual(1);
    expect(steps.every_third.dropped_third).toBeGreaterThanOrEqual(1);

    const p = await runCli(['prepare', cached]);
    ok(p);
    // prepare reports what each step did: the same counts as the in-memory run
    for (const [name, c] of Object.entries(steps)) {
      expect(p.stderr).toContain(`pipeline step ${name}: seen ${c.seen}, kept ${c.kept}`);
    }
    const idx = index(cache);
    expect(idx.preprocessing.pipeline!.map((s) => s.name)).toEqual(['drop_word', 'exact_dedup', 'every_third']);
    expect(idx.splits.train.documents + idx.splits.validation.documents).toBe(steps.every_third.kept);
    expect(idx.splits.train.parts[0].planned! + idx.splits.validation.parts[0].planned!).toBe(dup.length);

    // The stateful step saw the documents in the same order (validation first, then train): it dropped the same ones.
    const third = (d: string) => excluded(path.join(dir, d, 'every_third.jsonl.zst')).map((e) => [e.id, e.text]);
    expect(third('cached-excluded')).toEqual(third('mem-excluded'));
    expect(third('mem-excluded')).toHaveLength(steps.every_third.dropped_third);

    const b = await train(cached, 'from-cache');
    ok(b);
    expect(b.stderr).not.toMatch(/tokenizing the datasets into/); // the prepared cache is used as it is
    expect(consumed(b.trace)).toEqual(consumed(a.trace));
    // the steps ran in prepare, not again in the training graph
    expect(JSON.parse(readFileSync(path.join(b.out, 'pipeline_stats.json'), 'utf8')).steps ?? {}).toEqual({});
  }, 600_000);

  it('a changed step option makes the cache stale, naming the step and the option', async () => {
    expect(index(cache).preprocessing.pipeline).toBeDefined(); // prepared by the test before
    const changed = yaml('changed.yaml', { ...base, tokenized_path: cache }, pipeline(OTHER_WORD, path.join(dir, 'cached-excluded')));
    const r = await train(changed, 'stale');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`tokenized cache .*tokens is stale: pipeline step 'drop_word' options changed \\(word "${WORD}" → "${OTHER_WORD}"\\)`));
  }, 120_000);

  it('each rank filters its own slice: exact_dedup drops duplicates within a slice, not across slices', async () => {
    expect(WORD).toBeDefined();
    const dedup = 'pipeline:\n  - actor: exact_dedup\n    after: DatasetShardActor\n    exclusion_dir: EXCL\n';
    const cfg = (name: string, c: string) => yaml(name, { ...base, val_size: 0, tokenized_path: c }, dedup.replace('EXCL', path.join(dir, `${name}-excluded`)));
    const one = path.join(dir, 'one');
    ok(await runCli(['prepare', cfg('one.yaml', one)]));
    expect(index(one).splits.train.documents).toBe(24); // both copies dropped
    const two = path.join(dir, 'two');
    const cfg2 = cfg('two.yaml', two);
    for (const rank of ['0', '1']) ok(await runCli(['prepare', cfg2, '--rank', rank, '--world-size', '2']));
    const parts = index(two).splits.train.parts;
    // rank 0: documents 0–12, text 2 twice (index 5 dropped); rank 1: 13–25, text 3 once there
    expect(parts.map((p) => [p.first, p.planned, p.documents])).toEqual([[0, 13, 12], [13, 13, 13]]);
    expect(index(two).splits.train.documents).toBe(25);
    expect(excluded(path.join(dir, 'two.yaml-excluded', 'exact_dedup.part-00000-of-00002.jsonl.zst')).map((e) => [e.id, e.reason, e.text])).toEqual([['5', 'duplicate', texts[2]]]);
    expect(excluded(path.join(dir, 'one.yaml-excluded', 'exact_dedup.jsonl.zst')).map((e) => e.id)).toEqual(['5', '25']);
  }, 300_000);
});
