/**
 * Shared pieces of the bad-input tables: a row type, a runner that executes rows through the real CLI
 * a few at a time, the "one clear error line" assertion, and byte-level snapshots of directories so a
 * row can prove that nothing already written was changed.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { runCli, writeYaml, type CliResult } from './helpers';

export interface BadInputRow {
  /** What is broken, as a test title. */
  name: string;
  /** Builds the broken input inside `dir` (a fresh directory of its own) and returns the CLI arguments. */
  setup(dir: string): string[];
  /** Expected exit code: 2 = usage error, 1 = runtime failure. */
  code: 1 | 2;
  /** The single `ptflow: error:` line must match this (it names the file / line / key / tensor). */
  error: RegExp;
  /** Paths (files or directories) that must be byte-identical before and after the run. */
  unchanged?(dir: string): string[];
  env?: Record<string, string>;
  /** More checks on what the run left in `dir`. */
  after?(dir: string): void;
}

export interface RowOutcome {
  result: CliResult;
  /** Snapshots of `unchanged` paths taken before and after the run. */
  before: Map<string, string>;
  after: Map<string, string>;
}

/** Hash of every file under `p` (or of `p` itself), keyed by relative path. */
export function snapshot(p: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (abs: string, rel: string): void => {
    const st = statSync(abs);
    if (st.isDirectory()) {
      for (const n of readdirSync(abs).sort()) walk(path.join(abs, n), rel ? `${rel}/${n}` : n);
    } else {
      out.set(rel || path.basename(abs), createHash('sha256').update(readFileSync(abs)).digest('hex'));
    }
  };
  walk(p, '');
  return out;
}

function snapshotAll(paths: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of paths) for (const [k, v] of snapshot(p)) out.set(`${p}::${k}`, v);
  return out;
}

/** Runs every row (in `dirOf(row)`), `concurrency` CLI processes at a time. */
export async function runRows(
  rows: readonly BadInputRow[],
  dirOf: (row: BadInputRow) => string,
  concurrency = 4,
): Promise<Map<string, RowOutcome>> {
  const outcomes = new Map<string, RowOutcome>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < rows.length) {
      const row = rows[next++];
      const dir = dirOf(row);
      const args = row.setup(dir);
      const keep = row.unchanged?.(dir) ?? [];
      const before = snapshotAll(keep);
      const result = await runCli(args, { cwd: dir, env: row.env, timeoutMs: 120_000 });
      outcomes.set(row.name, { result, before, after: snapshotAll(keep) });
      // PTFLOW_PRINT_ERRORS=1 prints every row's error line, to review the messages themselves.
      if (process.env['PTFLOW_PRINT_ERRORS']) process.stdout.write(`${row.name} [exit ${result.code}]\n  ${errorLines(result.stderr).join('\n  ')}\n`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return outcomes;
}

/** The `ptflow: error:` lines of a run's stderr. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('ptflow: error:'));
}

/**
 * The run failed with exactly one clear error line matching `re`, the expected exit code, and no stack
 * trace or internal error anywhere in its output.
 */
export function expectOneClearError(r: CliResult, code: number, re: RegExp): void {
  const all = `${r.stdout}\n${r.stderr}`;
  const lines = errorLines(r.stderr);
  const problems: string[] = [];
  if (r.signal !== null) problems.push(`killed by ${r.signal}`);
  if (r.code !== code) problems.push(`exit code ${r.code}, expected ${code}`);
  if (lines.length !== 1) problems.push(`${lines.length} 'ptflow: error:' lines, expected 1`);
  if (lines.length >= 1 && !re.test(lines[0])) problems.push(`error line does not match ${re}`);
  if (/internal error/i.test(all)) problems.push('says "internal error"');
  if (/^\s+at .+(\(|:\d+:\d+)/m.test(all)) problems.push('prints a stack trace');
  if (problems.length > 0) {
    throw new Error(`${problems.join('; ')}\n--- stderr ---\n${r.stderr}\n--- stdout ---\n${r.stdout}`);
  }
}

/**
 * Writes `dir/<file>`: a small valid from-scratch run over `model` and `data`, with a table's
 * `defaults` and a row's `extra` keys on top (an undefined value removes the key).
 */
export function smallRunConfig(model: string, data: string, defaults: Record<string, unknown> = {}) {
  return (dir: string, extra: Record<string, unknown> = {}, file = 'cfg.yaml'): string => {
    const merged: Record<string, unknown> = {
      model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
      dataset: 'kjv', dataset_dir: data, cutoff_len: 16, output_dir: path.join(dir, 'out'),
      per_device_train_batch_size: 2, learning_rate: 0.01, max_steps: 2, logging_steps: 1, save_steps: 1, seed: 3,
      ...defaults, ...extra,
    };
    for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k];
    return writeYaml(path.join(dir, file), merged);
  };
}
