/**
 * Which scalars a `log_history` entry becomes in TensorBoard, as HF's `TensorBoardCallback.on_log`
 * writes them: keys renamed by `rewrite_logs` (`eval_x` → `eval/x`, `test_x` → `test/x`, any other
 * `x` → `train/x`), numbers only, at the entry's global step. `step` itself is not a logged value
 * (HF's `on_log` receives the logs before the step is added to `log_history`).
 */
import type { LogEntry } from '../trainer-state';

export function rewriteLogKey(key: string): string {
  if (key.startsWith('eval_')) return 'eval/' + key.slice('eval_'.length);
  if (key.startsWith('test_')) return 'test/' + key.slice('test_'.length);
  return 'train/' + key;
}

export function tensorboardScalars(entry: LogEntry): [tag: string, value: number][] {
  const out: [string, number][] = [];
  for (const [k, v] of Object.entries(entry)) {
    if (k === 'step' || typeof v !== 'number') continue;
    out.push([rewriteLogKey(k), v]);
  }
  return out;
}

/**
 * A run without training (`do_train: false`): HF's `evaluate()` logs its metrics once, at global step
 * 0 and without an epoch; eval_perplexity is added after logging (LLaMA-Factory), so it is not a scalar.
 */
export function evalOnlyEntry(metrics: Record<string, number>): LogEntry {
  const { eval_perplexity: _ppl, epoch: _epoch, ...logged } = metrics;
  return { ...logged, step: 0 };
}
