/**
 * Bad model, tokenizer and checkpoint files through the real `ptflow train` CLI. A short good run
 * provides real weights and real checkpoints; each row breaks one thing in a copy and must fail with
 * exactly one `ptflow: error:` line naming the file (and the tensor, for weights), the right exit code,
 * no stack trace — and the checkpoints already on disk stay byte-identical.
 */
import { copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readSafetensorsF32, writeSafetensors, type FloatTensor } from '../src/engine/io/safetensors';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';
import { expectOneClearError, runRows, smallRunConfig, type BadInputRow, type RowOutcome } from './bad-input-helpers';

const root = tmpDir('ptflow-bad-model-');
const scratchModel = tinyModelDir(root);
const data = tinyDataset(root, 6);
const good = path.join(root, 'good'); // a finished run: final model + checkpoint-1, checkpoint-2
const onlyModel = path.join(root, 'only-model'); // checkpoint-1 saved with save_only_model

const config = smallRunConfig(scratchModel, data);

/** A from-scratch model directory in `dir/model` with config.json overrides. */
function scratch(dir: string, overrides: Record<string, unknown> = {}): string {
  return tinyModelDir(dir, overrides);
}

/** A pretrained model directory in `dir/model`: the good run's final model files. */
function pretrained(dir: string): string {
  const m = path.join(dir, 'model');
  mkdirSync(m, { recursive: true });
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
    copyFileSync(path.join(good, f), path.join(m, f));
  }
  return m;
}

/** Rewrites `file` with `edit` applied to its tensors. */
async function editWeights(file: string, edit: (t: Map<string, FloatTensor>) => void): Promise<void> {
  const { tensors } = await readSafetensorsF32(file);
  edit(tensors);
  await writeSafetensors(file, tensors);
}

/** A copy of the good run's output directory in `dir/out`. */
function goodOutput(dir: string): string {
  const out = path.join(dir, 'out');
  cpSync(good, out, { recursive: true });
  return out;
}
const checkpoints = (dir: string): string[] => [path.join(dir, 'out', 'checkpoint-1'), path.join(dir, 'out', 'checkpoint-2')];

/** Rows whose setup is asynchronous prepare their files here first. */
const asyncSetups: Record<string, (dir: string) => Promise<void>> = {};

const rows: BadInputRow[] = [
  // --- tokenizer and model config ---
  {
    name: 'model: missing tokenizer.json',
    setup: (d) => {
      rmSync(path.join(scratch(d), 'tokenizer.json'));
      return ['train', config(d, { model_name_or_path: path.join(d, 'model') })];
    },
    code: 2,
    error: /Cannot read tokenizer file \S+\/model\/tokenizer\.json: ENOENT/,
  },
  {
    name: 'model: corrupt tokenizer.json',
    setup: (d) => {
      const f = path.join(scratch(d), 'tokenizer.json');
      writeFileSync(f, readFileSync(f).subarray(0, 5000));
      return ['train', config(d, { model_name_or_path: path.join(d, 'model') })];
    },
    code: 2,
    error: /model\/tokenizer\.json:\d+:\d+: invalid JSON: /,
  },
  {
    name: 'model: missing config.json',
    setup: (d) => {
      rmSync(path.join(scratch(d), 'config.json'));
      return ['train', config(d, { model_name_or_path: path.join(d, 'model') })];
    },
    code: 2,
    error: /model_name_or_path: \S+\/model\/config\.json not found/,
  },
  {
    name: 'model: config.json that is not JSON gives file:line:col',
    setup: (d) => {
      writeFileSync(path.join(scratch(d), 'config.json'), '{\n  "model_type": "llama",\n  "hidden_size": 16,,\n}\n');
      return ['train', config(d, { model_name_or_path: path.join(d, 'model') })];
    },
    code: 2,
    error: /model\/config\.json:3:21: not valid JSON \(Expected double-quoted property name\)/,
  },
  {
    name: 'model: config.json hidden_act gelu',
    setup: (d) => ['train', config(d, { model_name_or_path: scratch(d, { hidden_act: 'gelu' }) })],
    code: 2,
    error: /model\/config\.json: key "hidden_act": "gelu" is not supported \(only "silu"\)/,
  },
  {
    name: 'model: config.json num_attention_heads not dividing hidden_size',
    setup: (d) => ['train', config(d, { model_name_or_path: scratch(d, { num_attention_heads: 3, num_key_value_heads: 1 }) })],
    code: 2,
    error: /model\/config\.json: key "hidden_size": 16 is not divisible by num_attention_heads 3/,
  },
  {
    name: 'model: vocab smaller than the tokenizer',
    setup: (d) => ['train', config(d, { model_name_or_path: scratch(d, { vocab_size: 1000 }) })],
    code: 2,
    error: /tokenizer\.json has 32000 tokens but config\.json's vocab_size is 1000/,
  },
  {
    name: 'model: model.safetensors missing without train_from_scratch',
    setup: (d) => {
      rmSync(path.join(pretrained(d), 'model.safetensors'));
      return ['train', config(d, { model_name_or_path: path.join(d, 'model'), train_from_scratch: false })];
    },
    code: 2,
    error: /model_name_or_path: .*\/model has no model\.safetensors or model\.safetensors\.index\.json/,
  },
  {
    name: 'model: truncated model.safetensors names the file and the tensor',
    setup: (d) => {
      const f = path.join(pretrained(d), 'model.safetensors');
      truncateSync(f, readFileSync(f).length - 100);
      return ['train', config(d, { model_name_or_path: path.join(d, 'model'), train_from_scratch: false })];
    },
    code: 2,
    error: /model\/model\.safetensors: tensor model\.[a-z_.0-9]+weight: data_offsets .* out of range/,
  },
  {
    name: 'model: a tensor with the wrong shape names the file and the tensor',
    setup: (d) => {
      pretrained(d);
      return ['train', config(d, { model_name_or_path: path.join(d, 'model'), train_from_scratch: false })];
    },
    code: 2,
    error: /model\/model\.safetensors: tensor "model\.layers\.0\.mlp\.up_proj\.weight" has shape \[16,32\], expected \[32,16\]/,
  },
  {
    name: 'model: a missing tensor names the file and the tensor',
    setup: (d) => {
      pretrained(d);
      return ['train', config(d, { model_name_or_path: path.join(d, 'model'), train_from_scratch: false })];
    },
    code: 2,
    error: /model\/model\.safetensors: tensor "model\.norm\.weight" is missing \(expected shape \[16\]\)/,
  },

  // --- checkpoints ---
  {
    name: 'checkpoint: resume_from_checkpoint names a missing directory',
    setup: (d) => {
      goodOutput(d);
      return ['train', config(d, { max_steps: 4, resume_from_checkpoint: path.join(d, 'out', 'checkpoint-9') })];
    },
    code: 2,
    error: /resume_from_checkpoint: .*checkpoint-9 does not exist/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: resume_from_checkpoint names a directory without trainer_state.json',
    setup: (d) => {
      goodOutput(d);
      mkdirSync(path.join(d, 'half'));
      copyFileSync(path.join(good, 'checkpoint-2', 'model.safetensors'), path.join(d, 'half', 'model.safetensors'));
      return ['train', config(d, { max_steps: 4, resume_from_checkpoint: path.join(d, 'half') })];
    },
    code: 2,
    error: /resume_from_checkpoint: .*half is not a complete checkpoint \(no trainer_state\.json\)/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: corrupt optimizer.safetensors',
    setup: (d) => {
      const out = goodOutput(d);
      const f = path.join(out, 'checkpoint-2', 'optimizer.safetensors');
      truncateSync(f, Math.floor(readFileSync(f).length / 2));
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/optimizer\.safetensors: tensor \S+: data_offsets .* out of range/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: trainer_state.json that is not JSON',
    setup: (d) => {
      const out = goodOutput(d);
      writeFileSync(path.join(out, 'checkpoint-2', 'trainer_state.json'), '{"global_step": 2, ');
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/trainer_state\.json:1:20: invalid JSON/,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: truncated model.safetensors in the checkpoint',
    setup: (d) => {
      const out = goodOutput(d);
      const f = path.join(out, 'checkpoint-2', 'model.safetensors');
      truncateSync(f, readFileSync(f).length - 64);
      return ['train', config(d, { max_steps: 4 })];
    },
    code: 1,
    error: /checkpoint-2\/model\.safetensors.*tensor /,
    unchanged: checkpoints,
  },
  {
    name: 'checkpoint: saved with save_only_model cannot be resumed',
    setup: (d) => ['train', config(d, { max_steps: 4, resume_from_checkpoint: path.join(onlyModel, 'checkpoint-1') })],
    code: 1,
    error: /only-model\/checkpoint-1 was saved with save_only_model: true/,
    unchanged: () => [path.join(onlyModel, 'checkpoint-1')],
  },
  {
    name: 'checkpoint: resume_from_checkpoint true without any checkpoint',
    setup: (d) => ['train', config(d, { resume_from_checkpoint: true })],
    code: 2,
    error: /resume_from_checkpoint: true, but .*out has no checkpoint-N directory/,
  },
  {
    name: 'output_dir with final weights and no checkpoint',
    setup: (d) => {
      const out = goodOutput(d);
      for (const n of [1, 2]) rmSync(path.join(out, `checkpoint-${n}`), { recursive: true });
      return ['train', config(d)];
    },
    code: 2,
    error: /Output directory already exists and is not empty: .*out holds final weights/,
    unchanged: (d) => [path.join(d, 'out', 'model.safetensors'), path.join(d, 'out', 'trainer_state.json')],
  },
];

asyncSetups['model: a tensor with the wrong shape names the file and the tensor'] = (d) =>
  editWeights(path.join(d, 'model', 'model.safetensors'), (t) => {
    const w = t.get('model.layers.0.mlp.up_proj.weight') as FloatTensor;
    t.set('model.layers.0.mlp.up_proj.weight', { shape: [w.shape[1], w.shape[0]], data: w.data });
  });
asyncSetups['model: a missing tensor names the file and the tensor'] = (d) =>
  editWeights(path.join(d, 'model', 'model.safetensors'), (t) => {
    t.delete('model.norm.weight');
  });

describe('bad input through ptflow train: model, tokenizer and checkpoint files', () => {
  let outcomes: Map<string, RowOutcome>;

  beforeAll(async () => {
    const [a, b] = await Promise.all([
      runCli(['train', config(root, { output_dir: good }, 'good.yaml')]),
      runCli(['train', config(root, { output_dir: onlyModel, max_steps: 1, save_only_model: true }, 'only-model.yaml')]),
    ]);
    if (a.code !== 0) throw new Error(`the good run failed:\n${a.stderr}`);
    if (b.code !== 0) throw new Error(`the save_only_model run failed:\n${b.stderr}`);

    let i = 0;
    const dirs = new Map(rows.map((r) => [r.name, path.join(root, `row-${i++}`)]));
    for (const d of dirs.values()) mkdirSync(d, { recursive: true });
    // Rows with asynchronous edits: run their synchronous setup now, then the edit, then the CLI.
    const prepared = rows.map((r) => {
      const edit = asyncSetups[r.name];
      if (!edit) return r;
      const dir = dirs.get(r.name) as string;
      const args = r.setup(dir);
      return { ...r, setup: () => args, edit: () => edit(dir) };
    });
    for (const r of prepared) if ('edit' in r) await r.edit();
    outcomes = await runRows(prepared, (r) => dirs.get(r.name) as string, 4);
  }, 240_000);

  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => {
    const o = outcomes.get(row.name) as RowOutcome;
    expectOneClearError(o.result, row.code, row.error);
    expect(o.after).toEqual(o.before);
    expect(o.before.size > 0).toBe(row.unchanged !== undefined);
  });
});
