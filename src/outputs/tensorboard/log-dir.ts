/**
 * Where the TensorBoard event files go: `logging_dir`, or HF's default
 * `output_dir/runs/<%b%d_%H-%M-%S>_<hostname>` (local time, e.g. `runs/Dec07_01-02-34_node7`),
 * so each run (a resumed one too) is its own TensorBoard run, as with HF's Trainer.
 */
import os from 'node:os';
import path from 'node:path';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');

export function defaultLoggingDir(outputDir: string, now: Date = new Date(), hostname: string = os.hostname()): string {
  const stamp = `${MONTHS[now.getMonth()]}${two(now.getDate())}_${two(now.getHours())}-${two(now.getMinutes())}-${two(now.getSeconds())}`;
  return path.join(outputDir, 'runs', `${stamp}_${hostname}`);
}

/** The event-file directory of a run, or null when `report_to` does not include tensorboard. */
export function tensorboardDir(c: { report_to: string[]; logging_dir: string | null; output_dir: string }, now?: Date): string | null {
  if (!c.report_to.includes('tensorboard')) return null;
  return c.logging_dir ?? defaultLoggingDir(c.output_dir, now);
}
