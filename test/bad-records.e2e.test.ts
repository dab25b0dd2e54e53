/**
 * `on_bad_record` through the real `ptflow train` CLI: a JSON lines file with 3 bad lines among good
 * ones. `skip` trains (exit 0), counts the 3 lines — each once, also when a streamed run reads the file
 * again every epoch — in pipeline_stats.json with their lines, and prints one summary warning; the
 * default (`error`) stops at the first bad line with one error naming file:line (exit 2, not retried).
 * A file of bad records only, skipped, leaves nothing to train on: exit 2, saying what was skipped.
 * `ptflow prepare` (tokenized cache) skips or stops the same way.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineStatsSchema, type PipelineStats } from '../schemas/pipeline-stats';
import { runCli, tinyModelDir, tmpDir, writeYaml, type CliResult } from './helpers';

const root = tmpDir('ptflow-bad-records-');
const model = tinyModelDir(root);

/** Short documents (a few tokens each), so that a short streamed run passes several epochs. */
const GOOD = Array.from({ length: 10 }, (_, i) => JSON.stringify({ text: `Verse ${i}: and God saw that it was good.` }));
/** The bad lines and the 1-based line each is put at. */
const BAD: [number, Buffer, RegExp][] = [
  [3, Buffer.from('{"text": "unterminated'), /^malformed JSON: /],
  [7, Buffer.from('{"content": "no text column"}'), /^missing text column "text" \(keys: content;/],
  [11, Buffer.concat([Buffer.from('{"text": "ab'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), /^invalid UTF-8$/],
];

function dataDir(name: string, lines: Buffer[]): { dir: string; file: string } {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'kjv.jsonl');
  writeFileSync(file, Buffer.concat(lines.flatMap((l): Buffer[] => [l, Buffer.from('\n')])));
  writeFileSync(path.join(dir, 'dataset_info.json'), JSON.stringify({ kjv: { file_name: 'kjv.jsonl' } }));
  return { dir, file };
}

function mixedLines(): Buffer[] {
  const lines: Buffer[] = GOOD.map((l) => Buffer.from(l));
  for (const [line, bytes] of BAD) lines.splice(line - 1, 0, bytes);
  return lines;
}

const mixed = dataDir('mixed', mixedLines());
const allBad = dataDir('all-bad', BAD.map(([, b]) => b));

function config(name: string, dataset: string, extra: Record<string, unknown>): string {
  return writeYaml(path.join(root, `${name}.yaml`), {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset: 'kjv', dataset_dir: dataset, cutoff_len: 16, output_dir: path.join(root, 'runs', name), // never a data directory (refused)
    per_device_train_batch_size: 2, learning_rate: 0.01, max_steps: 2, logging_steps: 1, save_steps: 100, seed: 3,
    tokenizer_workers: 1, ...extra,
  });
}

const runs: Record<string, CliResult> = {};
const stats = (name: string): PipelineStats =>
  pipelineStatsSchema.parse(JSON.parse(readFileSync(path.join(root, 'runs', name, 'pipeline_stats.json'), 'utf8'))) as PipelineStats;

beforeAll(async () => {
  const cases: [string, string, Record<string, unknown>][] = [
    ['skip', mixed.dir, { on_bad_record: 'skip' }],
    ['error', mixed.dir, {}],
    // ~10 blocks of 16 tokens per epoch, 2 per step: 16 steps read the file 3 times or more
    ['stream-skip', mixed.dir, { on_bad_record: 'skip', streaming: true, buffer_size: 4, max_steps: 16 }],
    ['stream-error', mixed.dir, { streaming: true, buffer_size: 4 }],
    ['all-bad', allBad.dir, { on_bad_record: 'skip' }],
    ['stream-all-bad', allBad.dir, { on_bad_record: 'skip', streaming: true, buffer_size: 4 }],
  ];
  const queue = [...cases];
  const worker = async (): Promise<void> => {
    for (let c = queue.shift(); c; c = queue.shift()) runs[c[0]] = await runCli(['train', config(...c)]);
  };
  await Promise.all([worker(), worker()]);
  // a tokenized cache in 2 ranks: each counts all documents, then tokenizes its slice (two passes over the file)
  const cached = config('cached', mixed.dir, { on_bad_record: 'skip', tokenized_path: path.join(root, 'cache') });
  for (const rank of ['0', '1']) {
    runs[`prepare-${rank}`] = await runCli(['prepare', cached], { env: { SLURM_ARRAY_TASK_ID: rank, SLURM_ARRAY_TASK_COUNT: '2' } });
  }
  runs['train-cached'] = await runCli(['train', cached]);
  runs['prepare-error'] = await runCli(['prepare', config('cached-error', mixed.dir, { tokenized_path: path.join(root, 'cache-error') })]);
}, 600_000);

/** The actor that read the datasets: DatasetShardActor, or in map mode CacheBlockActor (it builds the run's token cache). */
const reader = (name: string) => stats(name).actors.DatasetShardActor ?? stats(name).actors.CacheBlockActor;

const errorLines = (r: CliResult): string[] => r.stderr.split('\n').filter((l) => l.startsWith('ptflow: error:'));

describe.each([
  ['map mode', 'skip'],
  ['streaming', 'stream-skip'],
])('on_bad_record: skip (%s)', (_label, name) => {
  it('trains, and pipeline_stats.json counts the 3 bad lines once each, with their lines and reasons', () => {
    const r = runs[name];
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    const bad = stats(name).bad_records;
    expect(bad.count).toBe(3);
    expect(bad.first.map((b) => [b.file, b.line])).toEqual(BAD.map(([line]) => [mixed.file, line]));
    bad.first.forEach((b, i) => expect(b.reason).toMatch(BAD[i][2]));
    expect(bad.first.every((b) => typeof b.byte === 'number')).toBe(true);
    // streamed: a batch never spans two epochs and an epoch is 10 documents, so one batch per epoch —
    // the file was read 3 times or more, and still each bad line counts once
    if (name === 'stream-skip') expect(stats(name).actors.DatasetShardActor.messagesOut).toBeGreaterThanOrEqual(3);
  });

  it('prints one summary warning naming the first bad line', () => {
    const warnings = runs[name].stderr.split('\n').filter((l) => l.includes('bad record'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^warning: skipped 3 bad records \(on_bad_record: skip\); first: \S+\/mixed\/kjv\.jsonl:3: malformed JSON/);
  });
});

describe.each([
  ['map mode', 'error'],
  ['streaming', 'stream-error'],
])('on_bad_record: error, the default (%s)', (_label, name) => {
  it('stops at the first bad line with one error naming file:line, exit 2, not retried', () => {
    const r = runs[name];
    expect(r.code).toBe(2);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(/^ptflow: error: \/\S+\/mixed\/kjv\.jsonl:3: malformed JSON/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(reader(name).restarts).toBe(0);
  });
});

describe.each([
  ['map mode', 'all-bad'],
  ['streaming', 'stream-all-bad'],
])('nothing but bad records, skipped (%s)', (_label, name) => {
  it('is a usage error that says what was skipped', () => {
    const r = runs[name];
    expect(r.code).toBe(2);
    expect(errorLines(r)).toHaveLength(1);
    expect(errorLines(r)[0]).toMatch(/dataset kjv: no documents to train on .*\(3 bad records skipped; first: \S+\/all-bad\/kjv\.jsonl:1: malformed JSON/);
    expect(reader(name).restarts).toBe(0);
  });
});

describe('ptflow prepare', () => {
  it('skip: each rank warns once about the 3 bad lines; the cache holds the 10 good documents and trains', () => {
    for (const rank of ['0', '1']) {
      const r = runs[`prepare-${rank}`];
      if (r.code !== 0) throw new Error(`rank ${rank}: exit ${r.code}\n${r.stderr}`);
      const warnings = r.stderr.split('\n').filter((l) => l.includes('bad record'));
      expect(warnings).toEqual([expect.stringMatching(/^warning: skipped 3 bad records \(on_bad_record: skip\); first: \S+\/mixed\/kjv\.jsonl:3: malformed JSON/)]);
    }
    expect(runs['prepare-1'].stderr).toMatch(/complete: train 10 documents/);
    const t = runs['train-cached'];
    if (t.code !== 0) throw new Error(`train from the cache: exit ${t.code}\n${t.stderr}`);
  });

  it('error: stops at the first bad line naming file:line, exit 2', () => {
    const r = runs['prepare-error'];
    expect(r.code).toBe(2);
    expect(errorLines(r)).toEqual([expect.stringMatching(/^ptflow: error: \/\S+\/mixed\/kjv\.jsonl:3: malformed JSON/)]);
  });
});
