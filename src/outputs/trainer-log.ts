/**
 * `trainer_log.jsonl`: one JSON line per log, as LLaMA-Factory's `LogCallback.on_log` writes it
 * (`json.dumps(logs)`: one line, `", "` / `": "` separators, keys in insertion order, keys whose
 * value is None left out). Fields: current_steps, total_steps, loss, eval_loss, lr, epoch,
 * percentage, elapsed_time, remaining_time ("H:MM:SS", Python's `str(timedelta)`), and, when
 * input tokens are counted, throughput and total_tokens.
 *
 * Unlike LLaMA-Factory, every run first calls `truncateAfterStep(file, startStep)` so the steps it
 * replays (after its checkpoint, or all of them when no checkpoint was reached) are not logged twice, and its time estimate counts only the steps done
 * since it started (`startStep`), not the steps restored from the checkpoint.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { trainerLogLineSchema, type TrainerLogLine } from '../../schemas/outputs/trainer-log';
import { PtflowError } from '../errors';
import { fsReason } from '../fs-error';
import { pyDumps, pyFloat, pyLoads, pyRound, type PyValue } from './pyjson';
import type { LogEntry } from './trainer-state';
import { readTextIfExists, writeTextAtomic } from './write';

export type { TrainerLogLine };

export const TRAINER_LOG_NAME = 'trainer_log.jsonl';

/** Python's `str(timedelta(seconds=int(seconds)))`: "H:MM:SS", "1 day, H:MM:SS", "-1 day, 23:59:57". */
export function formatTimedelta(seconds: number): string {
  const total = Math.trunc(seconds);
  const days = Math.floor(total / 86400);
  const rest = total - days * 86400;
  const h = Math.floor(rest / 3600);
  const m = Math.floor((rest % 3600) / 60);
  const s = rest % 60;
  const hms = `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return days === 0 ? hms : `${days} day${Math.abs(days) !== 1 ? 's' : ''}, ${hms}`;
}

export interface LogProgress {
  /** `state.global_step` at this log. */
  currentSteps: number;
  /** `state.max_steps`. */
  totalSteps: number;
  /** Seconds since this process started training. */
  elapsedSeconds: number;
  /** Global step this process started from (0, or the checkpoint step when resuming). */
  startStep?: number;
  /** `state.num_input_tokens_seen` (0 = not counted: no throughput / total_tokens). */
  numInputTokensSeen?: number;
}

/** The line `LogCallback.on_log` builds from the newest `log_history` entry. */
export function trainerLogLine(last: LogEntry, p: LogProgress): TrainerLogLine {
  const stepsDone = p.currentSteps - (p.startStep ?? 0);
  const avgPerStep = stepsDone > 0 ? p.elapsedSeconds / stepsDone : 0;
  const line: TrainerLogLine = {
    current_steps: p.currentSteps,
    total_steps: p.totalSteps,
    loss: last.loss,
    eval_loss: last.eval_loss,
    predict_loss: last.predict_loss,
    reward: last.reward,
    accuracy: last['rewards/accuracies'],
    lr: last.learning_rate,
    epoch: last.epoch,
    percentage: p.totalSteps !== 0 ? pyRound((p.currentSteps / p.totalSteps) * 100, 2) : 100,
    elapsed_time: formatTimedelta(p.elapsedSeconds),
    remaining_time: formatTimedelta((p.totalSteps - p.currentSteps) * avgPerStep),
  };
  const tokens = p.numInputTokensSeen ?? 0;
  if (tokens) {
    line.throughput = p.elapsedSeconds > 0 ? pyRound(tokens / p.elapsedSeconds, 2) : Infinity;
    line.total_tokens = tokens;
  }
  for (const k of Object.keys(line) as (keyof TrainerLogLine)[]) if (line[k] === undefined) delete line[k];
  return line;
}

const INT_FIELDS: ReadonlySet<string> = new Set(['current_steps', 'total_steps', 'total_tokens']);

/** `json.dumps(logs)` of a line (no newline). */
export function trainerLogLineText(line: TrainerLogLine): string {
  const value: { [key: string]: PyValue } = {};
  for (const [k, v] of Object.entries(line)) {
    if (v === undefined) continue;
    // `percentage` is the int 100 only when total_steps is 0; otherwise round(...) gives a float.
    const isInt = INT_FIELDS.has(k) || (k === 'percentage' && line.total_steps === 0);
    value[k] = typeof v === 'number' && !isInt ? pyFloat(v) : (v as PyValue);
  }
  return pyDumps(value);
}

/** Append one line to `file` (creating it and its directory). */
export async function appendTrainerLog(file: string, line: TrainerLogLine): Promise<void> {
  try {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.appendFile(file, trainerLogLineText(line) + '\n', 'utf8');
  } catch (e) {
    throw new PtflowError(`cannot append to ${file}: ${fsReason(e)}`);
  }
}

/**
 * Keep the lines of `file` up to the first one whose `current_steps` exceeds `step` and drop the
 * rest (a resumed run replays those steps). An incomplete last line (a crash mid-write) is dropped;
 * a malformed line before it is an error naming the file and line. Returns the lines kept; a
 * missing file keeps 0.
 */
export async function truncateAfterStep(file: string, step: number): Promise<number> {
  const text = await readTextIfExists(file);
  if (text === undefined) return 0;
  const lines = text.split('\n');
  const complete = text.endsWith('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const isPartialTail = i === lines.length - 1 && !complete;
    let current: unknown;
    try {
      const parsed = pyLoads(lines[i], file, i + 1);
      current = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed.current_steps : undefined;
    } catch (e) {
      if (isPartialTail) break;
      throw e;
    }
    if (isPartialTail) break;
    if (typeof current !== 'number' || !Number.isInteger(current)) {
      throw new PtflowError(`${file}:${i + 1}: line has no integer "current_steps"`);
    }
    if (current > step) break;
    kept.push(lines[i]);
  }
  const out = kept.length > 0 ? kept.join('\n') + '\n' : '';
  if (out !== text) await writeTextAtomic(file, out);
  return kept.length;
}

/**
 * The writer a training run holds: `begin()` when training starts (LogCallback.on_train_begin),
 * `log()` after every `log_history` append (on_log). Appends are serialised in call order.
 */
export class TrainerLog {
  readonly file: string;
  private startTime = 0;
  private maxSteps = 0;
  private startStep = 0;
  private pending: Promise<void> = Promise.resolve();

  /** `now` returns seconds (defaults to the wall clock). */
  constructor(
    outputDir: string,
    private readonly now: () => number = () => Date.now() / 1000,
  ) {
    this.file = path.join(outputDir, TRAINER_LOG_NAME);
  }

  /**
   * Start timing. Drops the lines after `startStep` first: a resumed run replays the steps after its
   * checkpoint, and a fresh run (startStep 0) replaces the lines of a run that stopped before its
   * first checkpoint.
   */
  async begin(maxSteps: number, startStep = 0): Promise<void> {
    this.startTime = this.now();
    this.maxSteps = maxSteps;
    this.startStep = startStep;
    await truncateAfterStep(this.file, startStep);
  }

  /** Write the line for the newest entry of `state.log_history`; resolves once it is on disk. */
  log(state: { global_step: number; log_history: readonly LogEntry[]; num_input_tokens_seen: number }): Promise<TrainerLogLine> {
    const last = state.log_history[state.log_history.length - 1];
    if (last === undefined) throw new PtflowError('trainer log: log_history is empty');
    const line = trainerLogLine(last, {
      currentSteps: state.global_step,
      totalSteps: this.maxSteps,
      elapsedSeconds: this.now() - this.startTime,
      startStep: this.startStep,
      numInputTokensSeen: state.num_input_tokens_seen,
    });
    const write = this.pending.then(() => appendTrainerLog(this.file, line));
    this.pending = write.catch(() => undefined);
    return write.then(() => line);
  }
}

/** Read and validate every line of a `trainer_log.jsonl` (for dashboards and tests). */
export async function readTrainerLog(file: string): Promise<TrainerLogLine[]> {
  const text = await readTextIfExists(file);
  if (text === undefined) return [];
  const out: TrainerLogLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const parsed = trainerLogLineSchema.safeParse(pyLoads(lines[i], file, i + 1));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new PtflowError(`${file}:${i + 1}: key ${issue.path.map(String).join('.') || '(line)'}: ${issue.message}`);
    }
    out.push(parsed.data);
  }
  return out;
}
