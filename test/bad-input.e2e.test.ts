/**
 * Bad input through the real `ptflow train` CLI, one table row per mistake a user can make in the
 * config, the dataset registry or the data files. Every row must fail with exactly one
 * `ptflow: error:` line that names the file / line / key, the right exit code (2 = usage, 1 = runtime),
 * and no stack trace. Model, tokenizer and checkpoint files: bad-input-model.e2e.test.ts.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';
import { expectOneClearError, runRows, smallRunConfig, type BadInputRow, type RowOutcome } from './bad-input-helpers';

const root = tmpDir('ptflow-bad-input-');
const model = tinyModelDir(root);
const goodData = tinyDataset(root, 6);

const config = smallRunConfig(model, goodData, { save_steps: 100 });

/** A dataset directory in `dir/data` holding `files` and an info entry `kjv` for `fileName`. */
function dataset(dir: string, files: Record<string, string | Buffer>, fileName: string, extraEntry: Record<string, unknown> = {}): string {
  const d = path.join(dir, 'data');
  mkdirSync(d, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(d, name), content);
  writeFileSync(path.join(d, 'dataset_info.json'), JSON.stringify({ kjv: { file_name: fileName, ...extraEntry } }));
  return d;
}

const GOOD_LINE = JSON.stringify({ text: 'In the beginning God created the heaven and the earth.' });

/** Bad data is the user's to fix: the reading actor (the run's cache builder in map mode) was not restarted to read the same bytes again. */
function notRetried(dir: string): void {
  const stats = JSON.parse(readFileSync(path.join(dir, 'out', 'pipeline_stats.json'), 'utf8'));
  const reader = stats.actors.DatasetShardActor ?? stats.actors.CacheBlockActor;
  expect(reader.restarts).toBe(0);
}

const rows: BadInputRow[] = [
  // --- config ---
  {
    name: 'config: unknown key gets a suggestion with file:line',
    setup: (d) => ['train', config(d, { learning_rat: 0.01 })],
    code: 2,
    error: /unknown key 'learning_rat' in .*cfg\.yaml:\d+ — did you mean 'learning_rate'\?/,
  },
  {
    name: 'config: wrong type names the key, the file:line and the value',
    setup: (d) => ['train', config(d, { max_steps: 'ten' })],
    code: 2,
    error: /cfg\.yaml:\d+: 'max_steps' .*got 'ten'/,
  },
  {
    name: 'config: bad enum value lists the key and the value',
    setup: (d) => ['train', config(d, { lr_scheduler_type: 'cosin' })],
    code: 2,
    error: /cfg\.yaml:\d+: 'lr_scheduler_type' .*cosine.*got 'cosin'/,
  },
  {
    name: 'config: forbidden combination names both keys and where they were set',
    setup: (d) => ['train', config(d, { neat_packing: true, packing: false })],
    code: 2,
    error: /neat_packing.*packing: false.*neat_packing: .*cfg\.yaml:\d+; packing: .*cfg\.yaml:\d+/,
  },
  {
    name: 'config: YAML syntax error gives file:line:col',
    setup: (d) => {
      const f = config(d);
      writeFileSync(f, `model_name_or_path: x\ncutoff_len: [16\noutput_dir: out\n`);
      return ['train', f];
    },
    code: 2,
    error: /YAML syntax error in .*cfg\.yaml:\d+:\d+/,
  },
  {
    name: 'config: missing config file',
    setup: () => ['train', 'no-such-config.yaml'],
    code: 2,
    error: /no-such-config\.yaml.*not found/,
  },
  {
    name: "config: override without '='",
    setup: (d) => ['train', config(d), 'max_steps'],
    code: 2,
    error: /'max_steps'.*key=value/,
  },
  {
    name: 'config: override with a wrong type names the argument',
    setup: (d) => ['train', config(d), 'max_steps=abc'],
    code: 2,
    error: /command line.*'max_steps'.*got 'abc'/,
  },
  {
    name: 'config: override of an unknown key gets a suggestion',
    setup: (d) => ['train', config(d), 'max_step=3'],
    code: 2,
    error: /unknown key 'max_step' on the command line \('max_step=3'\) — did you mean 'max_steps'\?/,
  },
  {
    name: 'config: missing required key output_dir',
    setup: (d) => ['train', config(d, { output_dir: undefined })],
    code: 2,
    error: /missing key 'output_dir' in .*cfg\.yaml/,
  },

  // --- dataset registry ---
  {
    name: 'registry: missing dataset_info.json',
    setup: (d) => {
      mkdirSync(path.join(d, 'empty'), { recursive: true });
      return ['train', config(d, { dataset_dir: path.join(d, 'empty') })];
    },
    code: 2,
    error: /empty\/dataset_info\.json/,
  },
  {
    name: 'registry: unknown dataset name lists the known ones',
    setup: (d) => ['train', config(d, { dataset: 'nope' })],
    code: 2,
    error: /Undefined dataset "nope" in .*dataset_info\.json\. Known datasets: kjv/,
  },
  {
    name: 'registry: missing data file',
    setup: (d) => ['train', config(d, { dataset_dir: dataset(d, {}, 'gone.jsonl') })],
    code: 2,
    error: /File \S+\/gone\.jsonl not found \(file_name of dataset "kjv" in \S+\/dataset_info\.json\)/,
  },
  {
    name: 'registry: bad JSON in dataset_info.json gives file:line:col',
    setup: (d) => {
      const data = dataset(d, { 'kjv.jsonl': GOOD_LINE + '\n' }, 'kjv.jsonl');
      // column 38 of line 2 is the '}' where a property name should follow the comma
      writeFileSync(path.join(data, 'dataset_info.json'), '{\n  "kjv": { "file_name": "kjv.jsonl", }\n}\n');
      return ['train', config(d, { dataset_dir: data })];
    },
    code: 2,
    error: /dataset_info\.json:2:38: invalid JSON: Expected double-quoted property name/,
  },
  {
    name: 'registry: hub-only entry',
    setup: (d) => {
      const data = path.join(d, 'data');
      mkdirSync(data, { recursive: true });
      writeFileSync(path.join(data, 'dataset_info.json'), JSON.stringify({ kjv: { hf_hub_url: 'org/corpus' } }));
      return ['train', config(d, { dataset_dir: data })];
    },
    code: 2,
    error: /dataset "kjv" is loaded from hf_hub_url "org\/corpus"; ptflow reads local files only/,
  },
  {
    name: 'registry: file of an unknown format',
    setup: (d) => ['train', config(d, { dataset_dir: dataset(d, { 'kjv.xml': '<doc/>' }, 'kjv.xml') })],
    code: 2,
    error: /kjv\.xml: unsupported file type; allowed file types: jsonl, json, txt, csv, parquet, arrow .*\(file_name of dataset "kjv" in /,
  },

  // --- data files ---
  {
    name: 'data: malformed JSON line names file:line',
    setup: (d) => ['train', config(d, { dataset_dir: dataset(d, { 'kjv.jsonl': `${GOOD_LINE}\n${GOOD_LINE}\n{"text": "unterminated\n` }, 'kjv.jsonl') })],
    code: 2,
    error: /^ptflow: error: \/\S+\/data\/kjv\.jsonl:3: malformed JSON: Unterminated string/,
    after: notRetried,
  },
  {
    name: 'data: missing text column names file:line and the column',
    setup: (d) => ['train', config(d, { dataset_dir: dataset(d, { 'kjv.jsonl': `${GOOD_LINE}\n{"content": "x"}\n` }, 'kjv.jsonl') })],
    code: 2,
    error: /kjv\.jsonl:2: missing text column "text" \(keys: content; set columns\.prompt in dataset_info\.json\)/,
    after: notRetried,
  },
  {
    name: 'data: non-string text names file:line',
    setup: (d) => ['train', config(d, { dataset_dir: dataset(d, { 'kjv.jsonl': `${GOOD_LINE}\n{"text": 5}\n` }, 'kjv.jsonl') })],
    code: 2,
    error: /kjv\.jsonl:2: text column "text" is a number, expected a string/,
    after: notRetried,
  },
  {
    name: 'data: empty file',
    setup: (d) => ['train', config(d, { dataset_dir: dataset(d, { 'kjv.jsonl': '' }, 'kjv.jsonl') })],
    code: 2,
    error: /dataset kjv: no documents to train on \(\S+\/kjv\.jsonl\)/,
    after: notRetried,
  },
  {
    name: 'data: invalid UTF-8 names file:line',
    setup: (d) => {
      const bad = Buffer.concat([Buffer.from(`${GOOD_LINE}\n{"text": "ab`), Buffer.from([0xff, 0xfe]), Buffer.from('cd"}\n')]);
      return ['train', config(d, { dataset_dir: dataset(d, { 'kjv.jsonl': bad }, 'kjv.jsonl') })];
    },
    code: 2,
    error: /kjv\.jsonl:2: invalid UTF-8/,
    after: notRetried,
  },
  {
    name: 'data: CSV with a bad quote names file:line',
    setup: (d) => ['train', config(d, { dataset_dir: dataset(d, { 'kjv.csv': 'text\n"first doc"\n"second "doc" here"\nthird\n' }, 'kjv.csv') })],
    code: 2,
    error: /kjv\.csv:3: malformed CSV: Invalid Closing Quote/,
    after: notRetried,
  },
];

describe('bad input through ptflow train: config, registry, data files', () => {
  let outcomes: Map<string, RowOutcome>;
  let i = 0;
  const dirs = new Map(rows.map((r) => [r.name, path.join(root, `row-${i++}`)]));

  beforeAll(async () => {
    for (const d of dirs.values()) mkdirSync(d, { recursive: true });
    outcomes = await runRows(rows, (r) => dirs.get(r.name) as string, 4);
  }, 240_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const o = outcomes.get(row.name) as RowOutcome;
    expectOneClearError(o.result, row.code, row.error);
    expect(o.after).toEqual(o.before);
    row.after?.(dirs.get(row.name) as string);
  });
});
