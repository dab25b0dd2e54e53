/**
 * Nothing lost, nothing silently wrong, through the real `ptflow train` CLI: an output_dir over each
 * kind of input, an edited or inconsistent checkpoint, a resume whose data-order settings changed, a
 * damaged tokenized cache, and errors that must name their cause. Each row builds its broken input,
 * must fail with exactly one `ptflow: error:` line naming the file / field / key, the right exit code,
 * no stack trace, and leave its inputs and the checkpoints on disk byte-identical.
 */
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, readdirSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { readSafetensorsF32, writeSafetensors, type FloatTensor } from '../src/engine/io/safetensors';
import { PartWriter, readPart } from '../src/cache/arrow-part';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';
import { expectOneClearError, runRows, smallRunConfig, type BadInputRow, type RowOutcome } from './bad-input-helpers';

const root = tmpDir('ptflow-bad-safety-');
const model = tinyModelDir(root);
const data = tinyDataset(root, 6);
const good = path.join(root, 'good'); // a finished run: final model + checkpoint-1, checkpoint-2
const cache = path.join(root, 'cache'); // a tokenized cache of `data` (ptflow prepare)

const config = smallRunConfig(model, data);

/** A copy of the good run's output directory in `dir/out`. */
function goodOutput(dir: string): string {
  const out = path.join(dir, 'out');
  cpSync(good, out, { recursive: true });
  return out;
}
const checkpoints = (dir: string): string[] => [path.join(dir, 'out', 'checkpoint-1'), path.join(dir, 'out', 'checkpoint-2')];

/** Edits a JSON file of checkpoint-2 in `dir/out` in place. */
function editJson(dir: string, name: string, edit: (j: Record<string, unknown>) => void): void {
  const f = path.join(dir, 'out', 'checkpoint-2', name);
  const j = JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
  edit(j);
  writeFileSync(f, JSON.stringify(j, null, 2));
}

/** A resume of a copy of the good run, with `extra` changed (max_steps raised so there is work left). */
function resumeWith(d: string, extra: Record<string, unknown>): string[] {
  goodOutput(d);
  return ['train', config(d, { max_steps: 4, ...extra })];
}

/** A copy of the tokenized cache in `dir/cache`. */
function cacheCopy(dir: string): string {
  const c = path.join(dir, 'cache');
  cpSync(cache, c, { recursive: true });
  return c;
}

function trainPart(c: string): { file: string; entry: Record<string, unknown>; index: Record<string, unknown> } {
  const index = JSON.parse(readFileSync(path.join(c, 'index.json'), 'utf8'));
  const entry = index.splits.train.parts[0];
  return { file: path.join(c, entry.file), entry, index };
}

/** Nothing was trained: no checkpoint, no final weights. */
function nothingTrained(dir: string): void {
  const out = path.join(dir, 'out');
  const names = existsSync(out) ? readdirSync(out) : [];
  expect(names.filter((n) => n.startsWith('checkpoint-') || n === 'model.safetensors')).toEqual([]);
}

const asyncSetups: Record<string, (dir: string) => Promise<void>> = {};

const rows: BadInputRow[] = [
  // --- output_dir over an input (class 1) ---
  {
    name: 'output_dir: the model directory itself, even with overwrite_output_dir',
    setup: (d) => {
      const m = tinyModelDir(d);
      return ['train', config(d, { model_name_or_path: m, output_dir: m, overwrite_output_dir: true })];
    },
    code: 2,
    error: /output_dir \S+\/model is the same path as model_name_or_path \S+\/model: a run never writes where its inputs are/,
    unchanged: (d) => [path.join(d, 'model')],
  },
  {
    name: 'output_dir: inside the model directory',
    setup: (d) => {
      const m = tinyModelDir(d);
      return ['train', config(d, { model_name_or_path: m, output_dir: path.join(m, 'out') })];
    },
    code: 2,
    error: /output_dir \S+\/model\/out is inside model_name_or_path/,
    unchanged: (d) => [path.join(d, 'model')],
  },
  {
    name: 'output_dir: a directory containing the model directory',
    setup: (d) => {
      const m = tinyModelDir(path.join(d, 'work'));
      return ['train', config(d, { model_name_or_path: m, output_dir: path.join(d, 'work') })];
    },
    code: 2,
    error: /output_dir \S+\/work contains model_name_or_path \S+\/work\/model/,
    unchanged: (d) => [path.join(d, 'work')],
  },
  {
    name: 'output_dir: a symlink to the model directory',
    setup: (d) => {
      const m = tinyModelDir(d);
      symlinkSync(m, path.join(d, 'link'));
      return ['train', config(d, { model_name_or_path: m, output_dir: path.join(d, 'link') })];
    },
    code: 2,
    error: /output_dir \S+\/link is the same path as model_name_or_path/,
    unchanged: (d) => [path.join(d, 'model')],
  },
  {
    name: 'output_dir: the model directory reached through a symlinked parent and ..',
    setup: (d) => {
      const m = tinyModelDir(path.join(d, 'real'));
      symlinkSync(path.join(d, 'real'), path.join(d, 'alias'));
      return ['train', config(d, { model_name_or_path: m, output_dir: path.join(d, 'alias', 'model', 'sub', '..') })];
    },
    code: 2,
    error: /is the same path as model_name_or_path/,
    unchanged: (d) => [path.join(d, 'real')],
  },
  {
    name: 'output_dir: the dataset directory',
    setup: (d) => {
      const dd = tinyDataset(d, 6);
      return ['train', config(d, { dataset_dir: dd, output_dir: dd })];
    },
    code: 2,
    error: /output_dir \S+\/data is the same path as dataset_dir/,
    unchanged: (d) => [path.join(d, 'data')],
  },
  {
    name: 'output_dir: inside the dataset directory',
    setup: (d) => {
      const dd = tinyDataset(d, 6);
      return ['train', config(d, { dataset_dir: dd, output_dir: path.join(dd, 'runs', 'a') })];
    },
    code: 2,
    error: /output_dir \S+\/data\/runs\/a is inside dataset_dir/,
    unchanged: (d) => [path.join(d, 'data')],
  },
  {
    name: 'output_dir: a data file of the dataset',
    setup: (d) => {
      const dd = tinyDataset(d, 6);
      return ['train', config(d, { dataset_dir: dd, output_dir: path.join(dd, 'kjv.jsonl') })];
    },
    code: 2,
    error: /output_dir \S+\/kjv\.jsonl is the same path as the data file of dataset "kjv"/,
    unchanged: (d) => [path.join(d, 'data')],
  },
  {
    name: 'output_dir: the tokenized_path cache',
    setup: (d) => {
      const c = cacheCopy(d);
      return ['train', config(d, { tokenized_path: c, output_dir: c })];
    },
    code: 2,
    error: /output_dir \S+\/cache is the same path as tokenized_path/,
    unchanged: (d) => [path.join(d, 'cache')],
  },
  {
    name: 'output_dir: a tokenized_path not built yet inside it',
    setup: (d) => ['train', config(d, { tokenized_path: path.join(d, 'out', 'cache') })],
    code: 2,
    error: /output_dir \S+\/out contains tokenized_path \S+\/out\/cache/,
    after: (d) => expect(existsSync(path.join(d, 'out'))).toBe(false),
  },
  {
    name: 'output_dir: the logging_dir',
    setup: (d) => {
      mkdirSync(path.join(d, 'logs'));
      writeFileSync(path.join(d, 'logs', 'events'), 'x');
      return ['train', config(d, { logging_dir: path.join(d, 'logs'), output_dir: path.join(d, 'logs') })];
    },
    code: 2,
    error: /output_dir \S+\/logs is the same path as logging_dir/,
    unchanged: (d) => [path.join(d, 'logs')],
  },

  {
    name: 'prepare: tokenized_path inside the dataset directory',
    setup: (d) => {
      const dd = tinyDataset(d, 6);
      return ['prepare', config(d, { dataset_dir: dd, tokenized_path: path.join(dd, 'cache') })];
    },
    code: 2,
    error: /tokenized_path \S+\/data\/cache is inside dataset_dir/,
    unchanged: (d) => [path.join(d, 'data')],
  },
  {
    name: 'train: tokenized_path (built by the run) over the model directory',
    setup: (d) => {
      const m = tinyModelDir(d);
      return ['train', config(d, { model_name_or_path: m, tokenized_path: m })];
    },
    code: 2,
    error: /tokenized_path \S+\/model is the same path as model_name_or_path/,
    unchanged: (d) => [path.join(d, 'model')],
    after: (d) => expect(existsSync(path.join(d, 'out'))).toBe(false),
  },

  // --- an edited or inconsistent checkpoint (class 2) ---
  {
    name: 'checkpoint: trainer_state.json global_step edited 2 → 4',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'trainer_state.json', (j) => (j.global_step = 4));
      return ['train', config(d, { max_steps: 6 })];
    },
    code: 1,
    error: /checkpoint-2\/trainer_state\.json: field global_step is 4 but the directory is checkpoint-2/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: scheduler.json last_epoch disagrees with global_step',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'scheduler.json', (j) => (j.last_epoch = 5));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/scheduler\.json: field last_epoch is 5 but \S+trainer_state\.json \(global_step\) says step 2/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: rng_state.json step disagrees with global_step',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'rng_state.json', (j) => (j.step = 1));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/rng_state\.json: field step is 1 but .* says step 2/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: scheduler.json missing',
    setup: (d) => {
      goodOutput(d);
      rmSync(path.join(d, 'out', 'checkpoint-2', 'scheduler.json'));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/scheduler\.json: cannot read it \(ENOENT\); the checkpoint is incomplete/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: ptflow_state.json step disagrees with global_step',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'ptflow_state.json', (j) => (j.step = 3));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/ptflow_state\.json: field step is 3 but .* says step 2/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: data cursor past the end of the epoch',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'ptflow_state.json', (j) => ((j.cursor as { micro: number }).micro = 999));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/ptflow_state\.json: field cursor\.micro is 999, past the end of an epoch of \d+ micro-batches/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: data cursor moved to another position in range',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'ptflow_state.json', (j) => {
        const c = j.cursor as { epoch: number; micro: number };
        const mpe = (j.data_settings as { micro_per_epoch: number }).micro_per_epoch;
        c.micro = (c.micro + 1) % mpe;
      });
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/ptflow_state\.json: field cursor is \{"epoch":\d+,"micro":\d+\} but 2 steps leave the data at \{"epoch":\d+,"micro":\d+\}/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: malformed data cursor',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'ptflow_state.json', (j) => (j.cursor = { epoch: 'one', micro: 1 }));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/ptflow_state\.json: field cursor\.epoch: .* \(got \{"epoch":"one","micro":1\}\)/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: a split cursor whose start is malformed',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'ptflow_state.json', (j) => (j.cursor = { kind: 'split', from: { epoch: 'one', micro: 1 }, skip: [{ step: 's', outputs: 1 }] }));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/ptflow_state\.json: field cursor\.from\.epoch: .* \(got \{"epoch":"one","micro":1\}\)/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: a malformed cursor among the ranks\' cursors',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'ptflow_state.json', (j) => (j.rank_cursors = [j.cursor, { epoch: 0, micro: -1 }]));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/ptflow_state\.json: field rank_cursors\.1\.micro: /,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: more ranks\' cursors than the world size it records',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'ptflow_state.json', (j) => (j.rank_cursors = [j.cursor, j.cursor, j.cursor]));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/ptflow_state\.json: field rank_cursors holds 3 cursors but field data_settings\.world_size is 1: the checkpoint's files disagree/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: ptflow_state.json with a non-numeric running loss',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'ptflow_state.json', (j) => (j.lossTotal = 'lots'));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/ptflow_state\.json: field lossTotal: /,
    unchanged: checkpoints,
  },

  // --- a resume whose data order would change (class 2) ---
  {
    name: 'checkpoint: a streamed run\'s cursor in a map-style run\'s checkpoint',
    setup: (d) => {
      goodOutput(d);
      editJson(d, 'ptflow_state.json', (j) => {
        j.cursor = { kind: 'stream', micro: 2 };
      });
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/ptflow_state\.json: field cursor is a streamed run's cursor but field data_settings\.streaming is false/,
    unchanged: checkpoints,
  },
  {
    name: 'resume: cutoff_len changed',
    setup: (d) => resumeWith(d, { cutoff_len: 32 }),
    code: 2,
    error: /cannot resume \S+checkpoint-2 exactly: .*: cutoff_len 16 → 32\. Restore them, or start afresh .*ignore_data_skip: true/,
    unchanged: checkpoints,
  },
  {
    name: 'resume: per_device_train_batch_size changed',
    setup: (d) => resumeWith(d, { per_device_train_batch_size: 3 }),
    code: 2,
    error: /cannot resume .*: per_device_train_batch_size 2 → 3\. .*or set rebase_data_cursor: true to continue with the next unseen block/,
    unchanged: checkpoints,
  },
  {
    name: 'resume: gradient_accumulation_steps changed',
    setup: (d) => resumeWith(d, { gradient_accumulation_steps: 2 }),
    code: 2,
    error: /cannot resume .*: gradient_accumulation_steps 1 → 2\./,
    unchanged: checkpoints,
  },
  {
    name: 'resume: rebase_data_cursor does not accept a change beyond the batch unit (cutoff_len)',
    setup: (d) => resumeWith(d, { per_device_train_batch_size: 3, cutoff_len: 32, rebase_data_cursor: true }),
    code: 2,
    error: /cannot resume \S+checkpoint-2: rebase_data_cursor accepts a change of per_device_train_batch_size \/ gradient_accumulation_steps \/ world_size only.*: cutoff_len 16 → 32\./,
    unchanged: checkpoints,
    after: (d) => expect(existsSync(path.join(d, 'out', 'checkpoint-3'))).toBe(false),
  },
  {
    name: 'resume: rebase_data_cursor and ignore_data_skip together',
    setup: (d) => resumeWith(d, { per_device_train_batch_size: 3, rebase_data_cursor: true, ignore_data_skip: true }),
    code: 2,
    error: /ignore_data_skip and rebase_data_cursor are both true/,
    unchanged: checkpoints,
  },
  {
    name: 'resume: seed changed',
    setup: (d) => resumeWith(d, { seed: 4 }),
    code: 2,
    error: /cannot resume .*: seed 3 → 4\./,
    unchanged: checkpoints,
  },
  {
    name: 'resume: packing changed',
    setup: (d) => resumeWith(d, { packing: false }),
    code: 2,
    error: /cannot resume .*: packing true → false\./,
    unchanged: checkpoints,
  },
  {
    name: 'resume: the dataset file changed',
    setup: (d) => {
      const dd = path.join(d, 'data');
      cpSync(data, dd, { recursive: true });
      appendFileSync(path.join(dd, 'kjv.jsonl'), JSON.stringify({ text: 'One more document that was not there before.' }) + '\n');
      return resumeWith(d, { dataset_dir: dd });
    },
    code: 2,
    error: /cannot resume .*: dataset kjv's file kjv\.jsonl changed \(size \d+ → \d+ bytes/,
    unchanged: checkpoints,
  },

  // --- a damaged tokenized cache (class 3) ---
  {
    name: 'cache: zeroed bytes inside a part are refused by its checksum',
    setup: (d) => {
      const c = cacheCopy(d);
      const { file } = trainPart(c);
      const bytes = readFileSync(file);
      bytes.fill(0, Math.floor(bytes.length / 2), Math.floor(bytes.length / 2) + 32);
      writeFileSync(file, bytes);
      return ['train', config(d, { tokenized_path: c })];
    },
    code: 2,
    error: /tokenized cache file \S+\/train\/part-\S+\.arrow: record batch 0 \(rows 0–\d+\) does not match its checksum in the index/,
    unchanged: (d) => [path.join(d, 'cache')],
    after: nothingTrained,
  },

  // --- errors that name their cause (class 5) ---
  {
    name: "config: a blank output_dir= is blamed on the command line",
    setup: (d) => ['train', config(d), 'output_dir='],
    code: 2,
    error: /'output_dir' is empty \(command line 'output_dir='\)/,
  },
  {
    name: 'config: non-UTF-8 bytes in a path are an error naming the line',
    setup: (d) => {
      const f = config(d);
      const text = readFileSync(f);
      const at = text.indexOf(Buffer.from('/out"'));
      writeFileSync(f, Buffer.concat([text.subarray(0, at + 1), Buffer.from([0xff, 0xfe]), text.subarray(at + 1)]));
      return ['train', f];
    },
    code: 2,
    error: /cfg\.yaml:\d+: invalid UTF-8 \(byte 0xff at column \d+\); save the file as UTF-8/,
  },
  {
    name: 'config: UTF-16 without a byte-order mark is recognised',
    setup: (d) => {
      const f = config(d);
      writeFileSync(f, Buffer.from(readFileSync(f, 'utf8'), 'utf16le'));
      return ['train', f];
    },
    code: 2,
    error: /cfg\.yaml: looks like UTF-16 without a byte-order mark/,
  },
  {
    name: 'model: a NaN in the base weights is named before training',
    setup: (d) => {
      const m = path.join(d, 'model');
      mkdirSync(m, { recursive: true });
      for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
        cpSync(path.join(good, f), path.join(m, f));
      }
      return ['train', config(d, { model_name_or_path: m, train_from_scratch: false })];
    },
    code: 2,
    error: /model\/model\.safetensors: tensor model\.norm\.weight has non-finite values \(element 3 is NaN\)/,
    after: nothingTrained,
  },
  {
    name: 'data: a streamed corpus with fewer tokens than one block is refused',
    setup: (d) => {
      const dd = path.join(d, 'data');
      mkdirSync(dd);
      writeFileSync(path.join(dd, 'kjv.jsonl'), '{"text": ""}\n{"text": "a"}\n');
      writeFileSync(path.join(dd, 'dataset_info.json'), JSON.stringify({ kjv: { file_name: 'kjv.jsonl' } }));
      return ['train', config(d, { dataset_dir: dd, streaming: true })];
    },
    code: 2,
    error: /Cannot find sufficient samples.*one pass over the streamed datasets: 2 documents, \d+ tokens: fewer than one block of cutoff_len 16/,
    after: nothingTrained,
  },
  {
    name: 'data: too few samples is not retried by the supervisor',
    setup: (d) => {
      const dd = path.join(d, 'data');
      mkdirSync(dd);
      writeFileSync(path.join(dd, 'kjv.jsonl'), '{"text": "a"}\n');
      writeFileSync(path.join(dd, 'dataset_info.json'), JSON.stringify({ kjv: { file_name: 'kjv.jsonl' } }));
      return ['train', config(d, { dataset_dir: dd })];
    },
    code: 2,
    error: /^ptflow: error: Cannot find sufficient samples/,
    after: (d) => {
      const stats = JSON.parse(readFileSync(path.join(d, 'out', 'pipeline_stats.json'), 'utf8'));
      expect(stats.actors.CacheBlockActor.restarts).toBe(0); // map mode: the run's own token cache
    },
  },
];

asyncSetups['model: a NaN in the base weights is named before training'] = async (d) => {
  const f = path.join(d, 'model', 'model.safetensors');
  const { tensors } = await readSafetensorsF32(f);
  (tensors.get('model.norm.weight') as FloatTensor).data[3] = NaN;
  await writeSafetensors(f, tensors);
};

/** Rewrites the cache's first training part with one token id outside the vocabulary (checksums made to match). */
async function outOfRangeToken(c: string): Promise<void> {
  const { file, entry, index } = trainPart(c);
  const docs: Int32Array[] = [];
  for await (const batch of readPart(file, entry as never)) for (const doc of batch) docs.push(Int32Array.from(doc));
  docs[2][1] = 40000;
  const w = new PartWriter(file);
  for (const doc of docs) w.add(doc);
  const st = await w.close();
  Object.assign(entry, { bytes: st.bytes, content_sha256: st.contentSha256 });
  writeFileSync(path.join(c, 'index.json'), JSON.stringify(index, null, 2));
}

rows.push({
  name: 'cache: a token id outside the vocabulary names the file and the row',
  setup: (d) => ['train', config(d, { tokenized_path: path.join(d, 'cache') })],
  code: 2,
  error: /tokenized cache file \S+\/train\/part-\S+\.arrow: row 2 \(0-based\), token 1: id 40000 is outside the model's vocabulary \(vocab_size 32000\)/,
  after: nothingTrained,
});
asyncSetups['cache: a token id outside the vocabulary names the file and the row'] = async (d) => {
  await outOfRangeToken(cacheCopy(d));
};

describe('bad input through ptflow train: inputs, resumes, caches and causes', () => {
  let outcomes: Map<string, RowOutcome>;
  let i = 0;
  const dirs = new Map(rows.map((r) => [r.name, path.join(root, `row-${i++}`)]));

  beforeAll(async () => {
    const [a, b] = await Promise.all([
      runCli(['train', config(root, { output_dir: good }, 'good.yaml')]),
      runCli(['prepare', config(root, { tokenized_path: cache }, 'prepare.yaml')]),
    ]);
    if (a.code !== 0) throw new Error(`the good run failed:\n${a.stderr}`);
    if (b.code !== 0) throw new Error(`ptflow prepare failed:\n${b.stderr}`);
    for (const d of dirs.values()) mkdirSync(d, { recursive: true });
    const prepared = rows.map((r) => {
      const edit = asyncSetups[r.name];
      if (!edit) return r;
      const dir = dirs.get(r.name) as string;
      const args = r.setup(dir);
      return { ...r, setup: () => args, edit: () => edit(dir) };
    });
    for (const r of prepared) if ('edit' in r) await (r as { edit(): Promise<void> }).edit();
    outcomes = await runRows(prepared, (r) => dirs.get(r.name) as string, 4);
  }, 400_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const o = outcomes.get(row.name) as RowOutcome;
    expectOneClearError(o.result, row.code, row.error);
    expect(o.after).toEqual(o.before);
    row.after?.(dirs.get(row.name) as string);
  });
});
