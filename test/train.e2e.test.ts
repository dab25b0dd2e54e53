/**
 * `ptflow train` end to end through the real CLI: real worker threads, real files, a tiny model with
 * a real 32k tokenizer. Checks every output file and key against the reference layout.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineStatsSchema } from '../schemas/pipeline-stats';
import { pngSize, runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';
import { readEventFile } from './tfevents-reader';

describe('ptflow train (end to end)', () => {
  const dir = tmpDir();
  const model = tinyModelDir(dir);
  const data = tinyDataset(dir);
  const out = path.join(dir, 'out');
  let result: Awaited<ReturnType<typeof runCli>>;

  beforeAll(async () => {
    const cfg = writeYaml(path.join(dir, 'cfg.yaml'), {
      model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
      dataset: 'kjv', dataset_dir: data, cutoff_len: 32, val_size: 3, output_dir: out,
      per_device_train_batch_size: 4, per_device_eval_batch_size: 4, learning_rate: 0.01, max_steps: 12,
      lr_scheduler_type: 'cosine', warmup_steps: 2, logging_steps: 2, save_steps: 6, eval_strategy: 'steps', eval_steps: 6,
      plot_loss: true, seed: 7,
    });
    result = await runCli(['train', cfg]);
  }, 300_000);

  it('exits 0 and reports progress as plain lines when not on a TTY', () => {
    if (result.code !== 0) throw new Error(`exit ${result.code}\n${result.stderr}`);
    expect(result.stderr).toMatch(/\[step 2\] loss=/);
    expect(result.stderr).toMatch(/eval_perplexity=/);
  });

  it('writes the Hugging Face model directory', () => {
    for (const f of ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) {
      expect(existsSync(path.join(out, f))).toBe(true);
    }
    const cfg = JSON.parse(readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ model_type: 'llama', hidden_size: 16, vocab_size: 32000, architectures: ['LlamaForCausalLM'] });
  });

  it('keeps trainer_state.json with HF log_history entries, and a falling loss', () => {
    const state = JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({ global_step: 12, max_steps: 12, logging_steps: 2, eval_steps: 6, save_steps: 6, train_batch_size: 4 });
    const trainLogs = state.log_history.filter((e: Record<string, number>) => 'loss' in e);
    expect(trainLogs.map((e: Record<string, number>) => e.step)).toEqual([2, 4, 6, 8, 10, 12]);
    for (const e of trainLogs) expect(Object.keys(e).sort()).toEqual(['epoch', 'grad_norm', 'learning_rate', 'loss', 'step']);
    // HF's epoch after a step (gradient_accumulation_steps 1): epochs done + micro-batches done in this epoch / per epoch.
    const perEpoch = JSON.parse(readFileSync(path.join(out, 'checkpoint-12', 'ptflow_state.json'), 'utf8')).data_settings.micro_per_epoch;
    expect(perEpoch).toBeGreaterThan(1);
    const hfEpoch = (step: number): number => Math.floor((step - 1) / perEpoch) + (((step - 1) % perEpoch) + 1) / perEpoch;
    for (const e of state.log_history.filter((x: Record<string, number>) => 'loss' in x || 'eval_loss' in x)) expect(e.epoch).toBe(hfEpoch(e.step));
    expect(trainLogs[trainLogs.length - 1].loss).toBeLessThan(trainLogs[0].loss - 0.5);
    const evals = state.log_history.filter((e: Record<string, number>) => 'eval_loss' in e);
    // eval at 6 and 12 by schedule; the final evaluation after training is not in the saved state (as LLaMA-Factory)
    expect(evals.map((e: Record<string, number>) => e.step)).toEqual([6, 12]);
    for (const e of evals) {
      expect(Object.keys(e).sort()).toEqual(['epoch', 'eval_loss', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second', 'step']);
    }
    const final = state.log_history.find((e: Record<string, number>) => 'train_runtime' in e);
    expect(Object.keys(final).sort()).toEqual(
      ['epoch', 'step', 'total_flos', 'train_loss', 'train_runtime', 'train_samples_per_second', 'train_steps_per_second'].sort(),
    );
    // train_loss = mean of the 12 per-step losses; the logged means are over pairs of steps, so their mean is the same.
    const meanOfLogs = trainLogs.reduce((a: number, e: Record<string, number>) => a + e.loss, 0) / trainLogs.length;
    expect(final.train_loss).toBeCloseTo(meanOfLogs, 3);
    // HF floating_point_ops: 6 × non-embedding parameters × tokens. Tied head, hidden 16, 1 layer, 1 kv head of 8:
    // q 16·16 + k 8·16 + v 8·16 + o 16·16 + mlp 3·16·32 + 2 norms 2·16 + final norm 16 = 2352 parameters.
    expect(final.total_flos).toBe(6 * 2352 * 12 * 4 * 32);
  });

  it('writes eval results with perplexity = exp(eval_loss), and all_results as the union', () => {
    const ev = JSON.parse(readFileSync(path.join(out, 'eval_results.json'), 'utf8'));
    expect(Object.keys(ev).sort()).toEqual(['epoch', 'eval_loss', 'eval_perplexity', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second']);
    expect(ev.eval_perplexity).toBeCloseTo(Math.exp(ev.eval_loss), 6);
    const tr = JSON.parse(readFileSync(path.join(out, 'train_results.json'), 'utf8'));
    expect(Object.keys(tr).sort()).toEqual(['epoch', 'total_flos', 'train_loss', 'train_runtime', 'train_samples_per_second', 'train_steps_per_second']);
    const all = JSON.parse(readFileSync(path.join(out, 'all_results.json'), 'utf8'));
    expect(all).toEqual({ ...tr, ...ev });
    // Python's json.dump(indent=4, sort_keys=True)
    expect(readFileSync(path.join(out, 'eval_results.json'), 'utf8')).toMatch(/^\{\n {4}"epoch": /);
  });

  it('writes trainer_log.jsonl lines, checkpoints, plots, the model card and pipeline stats', () => {
    const lines = readFileSync(path.join(out, 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => 'loss' in l).map((l) => l.current_steps)).toEqual([2, 4, 6, 8, 10, 12]);
    for (const l of lines) expect(l.total_steps).toBe(12);
    for (const n of [6, 12]) {
      const ck = path.join(out, `checkpoint-${n}`);
      for (const f of ['model.safetensors', 'optimizer.safetensors', 'scheduler.json', 'trainer_state.json', 'config.json']) {
        expect(existsSync(path.join(ck, f))).toBe(true);
      }
    }
    expect(pngSize(path.join(out, 'training_loss.png')).width).toBeGreaterThan(300);
    expect(pngSize(path.join(out, 'training_eval_loss.png')).width).toBeGreaterThan(300);
    const card = readFileSync(path.join(out, 'README.md'), 'utf8');
    expect(card).toMatch(/^---\n/);
    expect(card).toMatch(/library_name: transformers/);
    expect(card).toMatch(/\| Training Loss \| Epoch\s+\| Step \| Validation Loss \|/);
    expect(card.match(/^\| [0-9.]+ +\| [0-9.]+ +\| \d+ +\| [0-9.]+ +\|$/gm)?.length).toBe(2);
    const stats = pipelineStatsSchema.parse(JSON.parse(readFileSync(path.join(out, 'pipeline_stats.json'), 'utf8')));
    // map mode: trained from the run's own token cache, removed once the run completed
    expect(Object.keys(stats.actors).sort()).toEqual(['CacheBlockActor', 'TrainerActor']);
    expect(existsSync(path.join(out, '.ptflow-cache'))).toBe(false);
    expect(stats.actors.TrainerActor.messagesIn).toBeGreaterThanOrEqual(12);
    expect(stats.trainer!.train_ms).toBeGreaterThan(0);
  });

  it('evaluates the saved model alone (do_train: false): eval results only, batch size independent', async () => {
    const evalOut = (bs: number): string => path.join(dir, `eval-bs${bs}`);
    const run = (bs: number) =>
      runCli(['train', writeYaml(path.join(dir, `eval-${bs}.yaml`), {
        model_name_or_path: out, stage: 'pt', do_train: false, do_eval: true, eval_dataset: 'kjv', dataset_dir: data,
        cutoff_len: 32, per_device_eval_batch_size: bs, output_dir: evalOut(bs), ...(bs === 4 ? { report_to: 'tensorboard', logging_dir: path.join(dir, 'tb-eval') } : {}),
      })]);
    const [a, b] = await Promise.all([run(4), run(3)]);
    if (a.code !== 0) throw new Error(a.stderr);
    if (b.code !== 0) throw new Error(b.stderr);
    const ea = JSON.parse(readFileSync(path.join(evalOut(4), 'eval_results.json'), 'utf8'));
    const eb = JSON.parse(readFileSync(path.join(evalOut(3), 'eval_results.json'), 'utf8'));
    expect(Object.keys(ea).sort()).toEqual(['eval_loss', 'eval_perplexity', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second']);
    expect(ea.eval_perplexity).toBeCloseTo(Math.exp(ea.eval_loss), 6);
    // Every packed block has the same number of labels, so the sample-weighted mean of batch means is the
    // token mean whatever the batch size.
    expect(Math.abs(ea.eval_loss - eb.eval_loss)).toBeLessThan(1e-4);
    // the trained model is far better than chance (ln 32000 = 10.37)
    expect(ea.eval_loss).toBeLessThan(10);
    expect(existsSync(path.join(evalOut(4), 'all_results.json'))).toBe(true);
    for (const f of ['model.safetensors', 'trainer_state.json', 'train_results.json', 'README.md']) {
      expect(existsSync(path.join(evalOut(4), f))).toBe(false);
    }
    // report_to: tensorboard: HF's evaluate() logs once, at step 0 (decoded by the independent reader)
    const [file] = readdirSync(path.join(dir, 'tb-eval'));
    const events = readEventFile(path.join(dir, 'tb-eval', file));
    expect(events[0].fileVersion).toBe('brain.Event:2');
    expect(events.slice(1).map((e) => [e.step, e.values[0].tag, e.values[0].simpleValue])).toEqual(
      ['eval_loss', 'eval_runtime', 'eval_samples_per_second', 'eval_steps_per_second'].map((k) => [0, `eval/${k.slice(5)}`, Math.fround(ea[k])]),
    );
  }, 300_000);

  it('continues pre-training the saved model with LoRA and saves the adapter in the PEFT layout', async () => {
    const loraOut = path.join(dir, 'lora');
    const r = await runCli(['train', writeYaml(path.join(dir, 'lora.yaml'), {
      model_name_or_path: out, stage: 'pt', do_train: true, finetuning_type: 'lora', lora_rank: 4, lora_target: 'q_proj,v_proj',
      dataset: 'kjv', dataset_dir: data, cutoff_len: 32, output_dir: loraOut, per_device_train_batch_size: 4,
      learning_rate: 0.01, max_steps: 4, logging_steps: 2, save_steps: 4,
    })]);
    if (r.code !== 0) throw new Error(r.stderr);
    const cfg = JSON.parse(readFileSync(path.join(loraOut, 'adapter_config.json'), 'utf8'));
    expect(cfg).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8, target_modules: ['q_proj', 'v_proj'], base_model_name_or_path: out });
    for (const f of ['adapter_model.safetensors', 'tokenizer.json', 'trainer_state.json', 'checkpoint-4/adapter_model.safetensors']) {
      expect(existsSync(path.join(loraOut, f))).toBe(true);
    }
    expect(existsSync(path.join(loraOut, 'model.safetensors'))).toBe(false);
    const card = readFileSync(path.join(loraOut, 'README.md'), 'utf8');
    expect(card).toMatch(/library_name: peft/);
  }, 300_000);
});
