/**
 * `train_results.json`, `eval_results.json` and `all_results.json`, as transformers'
 * `Trainer.save_metrics(split, metrics)` writes them: `json.dump(metrics, indent=4, sort_keys=True)`
 * (no trailing newline), and `all_results.json` = the existing file (if any) updated with these
 * metrics. Evaluation adds `eval_perplexity = exp(eval_loss)` (inf on overflow), as LLaMA-Factory's
 * pt workflow does.
 */
import * as path from 'node:path';
import { PtflowError } from '../errors';
import type { Metrics } from './log-entries';
import { PyFloat, pyDumps, pyFloat, pyLoadsMarked, type PyValue } from './pyjson';
import { LOG_INT_KEYS } from './trainer-state';
import { readTextIfExists, writeTextAtomic } from './write';

export const ALL_RESULTS_NAME = 'all_results.json';

/** `math.exp(loss)`, or inf where Python's raises OverflowError (JS's `Math.exp` already gives it). */
export function perplexity(loss: number): number {
  return Math.exp(loss);
}

/** `metrics` plus `{prefix}_perplexity` computed from `{prefix}_loss`. */
export function withPerplexity(metrics: Metrics, prefix = 'eval'): Metrics {
  const loss = metrics[`${prefix}_loss`];
  if (loss === undefined) throw new PtflowError(`eval metrics have no "${prefix}_loss" to take the perplexity of`);
  return { ...metrics, [`${prefix}_perplexity`]: perplexity(loss) };
}

function toPy(metrics: Metrics): { [key: string]: PyValue } {
  const out: { [key: string]: PyValue } = {};
  for (const [k, v] of Object.entries(metrics)) out[k] = LOG_INT_KEYS.has(k) ? v : pyFloat(v);
  return out;
}

/** The text of a `*_results.json` file. */
export function resultsJson(metrics: Metrics): string {
  return dumpResults(toPy(metrics));
}

function dumpResults(value: { [key: string]: PyValue }): string {
  return pyDumps(value, { indent: 4, sortKeys: true });
}

/**
 * Write `{split}_results.json` in `outputDir` and, when `combined`, merge `metrics` into
 * `all_results.json` (values already there keep their exact spelling).
 */
export async function saveMetrics(outputDir: string, split: string, metrics: Metrics, combined = true): Promise<void> {
  await writeTextAtomic(path.join(outputDir, `${split}_results.json`), resultsJson(metrics));
  if (!combined) return;
  const allFile = path.join(outputDir, ALL_RESULTS_NAME);
  const existing = await readTextIfExists(allFile);
  let all: { [key: string]: PyValue } = {};
  if (existing !== undefined) {
    const parsed = pyLoadsMarked(existing, allFile);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || parsed instanceof PyFloat) {
      throw new PtflowError(`${allFile}: expected a JSON object of metrics`);
    }
    all = { ...(parsed as { [key: string]: PyValue }) };
  }
  Object.assign(all, toPy(metrics));
  await writeTextAtomic(allFile, dumpResults(all));
}
