/**
 * `report_to: tensorboard` end to end: a run killed after step 4 and resumed leaves two event files
 * under output_dir/runs/<date>_<host>/, decoded here with an independent reader
 * (test/tfevents-reader.ts), and every scalar equals (as float32) the value in trainer_state.json's
 * log_history, trainer_log.jsonl and all_results.json.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';
import { readEventFile, type DecodedEvent } from './tfevents-reader';

const TIMING = /runtime|per_second/;

/** `eval_x` → `eval/x`, other keys → `train/x` (HF's rewrite_logs, restated from its source). */
const tagOf = (k: string): string => (k.startsWith('eval_') ? `eval/${k.slice(5)}` : `train/${k}`);

function eventFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...eventFiles(p));
    else if (name.startsWith('events.out.tfevents.')) out.push(p);
  }
  return out;
}

/** [step, tag, value] triples ordered by step, then tag (trainer_state.json sorts an entry's keys; the file keeps HF's order). */
const byStepTag = (xs: [number, string, number][]): [number, string, number][] =>
  [...xs].sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]) || a[2] - b[2]);

/** The scalars of a file as [step, tag, value], in file order (file_version first, checked). */
function scalars(events: DecodedEvent[]): [number, string, number][] {
  expect(events[0].fileVersion).toBe('brain.Event:2');
  return events.slice(1).map((e) => {
    expect(e.values).toHaveLength(1);
    expect(e.wallTime).toBeGreaterThan(1.7e9);
    return [e.step, e.values[0].tag, e.values[0].simpleValue];
  });
}

/** What HF's TensorBoardCallback writes for these log_history entries. */
function expected(entries: Record<string, number>[], keep: (k: string) => boolean = () => true): [number, string, number][] {
  return entries.flatMap((e) =>
    Object.entries(e)
      .filter(([k]) => k !== 'step' && keep(k))
      .map(([k, v]): [number, string, number] => [e.step, tagOf(k), Math.fround(v)]),
  );
}

describe('TensorBoard event files (end to end)', () => {
  const dir = tmpDir('ptflow-tb-');
  const out = path.join(dir, 'out');
  const cfg = writeYaml(path.join(dir, 'cfg.yaml'), {
    model_name_or_path: tinyModelDir(dir), train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset: 'kjv', dataset_dir: tinyDataset(dir, 12), cutoff_len: 16, val_size: 2, per_device_train_batch_size: 3,
    learning_rate: 0.01, max_steps: 6, logging_steps: 2, save_steps: 3, eval_strategy: 'steps', eval_steps: 3,
    seed: 5, report_to: 'tensorboard', output_dir: out,
  });

  it('writes what HF writes, a new file after a resume, every value equal to the logs', async () => {
    const first = await runCli(['train', cfg], { env: { PTFLOW_FAULTS: 'kill-after-step@4' } });
    expect(first.signal).toBe('SIGKILL');
    const second = await runCli(['train', cfg]);
    if (second.code !== 0) throw new Error(second.stderr);
    expect(second.stderr).not.toMatch(/report_to/); // tensorboard is supported: no warning

    const files = eventFiles(path.join(out, 'runs'));
    expect(files).toHaveLength(2);
    for (const f of files) expect(path.basename(path.dirname(f))).toMatch(new RegExp(`^[A-Z][a-z]{2}\\d{2}_\\d{2}-\\d{2}-\\d{2}_${os.hostname()}$`));
    const [before, after] = files.map(readEventFile).sort((a, b) => a[0].wallTime - b[0].wallTime).map(scalars);

    const state = JSON.parse(readFileSync(path.join(out, 'trainer_state.json'), 'utf8')) as { log_history: Record<string, number>[] };
    const history = state.log_history;
    expect(history.map((e) => e.step)).toEqual([2, 3, 4, 6, 6, 6]);
    // The killed run logged steps 2, 3 (eval) and 4; timings aside, the resumed history repeats them exactly.
    expect(byStepTag(before.filter(([, tag]) => !TIMING.test(tag)))).toEqual(byStepTag(expected(history.filter((e) => e.step <= 4), (k) => !TIMING.test(k))));
    // Steps never go back within a file; an entry's scalars come in HF's on_log order.
    for (const f of [before, after]) for (let i = 1; i < f.length; i++) expect(f[i][0]).toBeGreaterThanOrEqual(f[i - 1][0]);
    expect(before.slice(0, 4).map(([s, t]) => [s, t])).toEqual([[2, 'train/loss'], [2, 'train/grad_norm'], [2, 'train/learning_rate'], [2, 'train/epoch']]);
    // The resumed run (from checkpoint-3) logged step 4 again, then 6, the final metrics, and the final evaluation.
    const results = JSON.parse(readFileSync(path.join(out, 'all_results.json'), 'utf8')) as Record<string, number>;
    const finalEval = Object.fromEntries(Object.entries(results).filter(([k]) => k.startsWith('eval_') && k !== 'eval_perplexity'));
    const afterExpected = expected([...history.filter((e) => e.step > 3), { ...finalEval, epoch: results.epoch, step: 6 }]);
    expect(byStepTag(after).map(([s, t]) => [s, t])).toEqual(byStepTag(afterExpected).map(([s, t]) => [s, t]));
    expect(byStepTag(after.filter(([, t]) => !TIMING.test(t)))).toEqual(byStepTag(afterExpected.filter(([, t]) => !TIMING.test(t))));
    // Timings: the saved state and all_results.json hold them rounded (HF rounds runtimes to 4 places).
    const timing = (xs: [number, string, number][]) => byStepTag(xs.filter(([, t]) => TIMING.test(t)));
    for (const [i, [, , v]] of timing(afterExpected).entries()) expect(timing(after)[i][2]).toBeCloseTo(v, 2);
    expect(after.map(([, t]) => t)).toEqual(expect.arrayContaining(['train/loss', 'train/learning_rate', 'train/grad_norm', 'train/epoch', 'eval/loss', 'train/train_loss']));

    // trainer_log.jsonl: each line's loss / lr / epoch / eval_loss is the newest value TensorBoard has at that step.
    const latest = new Map<string, number>();
    for (const [s, t, v] of [...before, ...after]) latest.set(`${s} ${t}`, v);
    const lines = readFileSync(path.join(out, 'trainer_log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) {
      const s = line.current_steps;
      const pairs: [string, string][] = [['loss', 'train/loss'], ['lr', 'train/learning_rate'], ['epoch', 'train/epoch'], ['eval_loss', 'eval/loss']];
      for (const [k, tag] of pairs) if (line[k] !== undefined) expect([k, s, latest.get(`${s} ${tag}`)]).toEqual([k, s, Math.fround(line[k])]);
    }
  }, 300_000);
});
