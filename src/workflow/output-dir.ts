/**
 * The reference's rules for an existing `output_dir` (LLaMA-Factory's `_check_extra_dependencies` /
 * HF `get_last_checkpoint`): with `do_train`, an existing non-empty output directory resumes from its
 * `checkpoint-N` with the largest N unless `overwrite_output_dir`; final weights but no checkpoint is an
 * error. `resume_from_checkpoint` may name a checkpoint or be `true` (= the last one).
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';

const CHECKPOINT_RE = /^checkpoint-(\d+)$/;
const WEIGHT_FILES = ['model.safetensors', 'model.safetensors.index.json', 'adapter_model.safetensors', 'pytorch_model.bin'];

/** The `checkpoint-N` directory with the largest N that looks complete, or null. */
export function lastCheckpoint(outputDir: string): string | null {
  if (!existsSync(outputDir)) return null;
  let best: { n: number; dir: string } | null = null;
  for (const name of readdirSync(outputDir)) {
    const m = CHECKPOINT_RE.exec(name);
    if (!m) continue;
    const dir = path.join(outputDir, name);
    if (!statSync(dir).isDirectory()) continue;
    // A checkpoint is trusted only once its trainer_state.json exists (written last, renamed into place).
    if (!existsSync(path.join(dir, 'trainer_state.json'))) continue;
    const n = Number(m[1]);
    if (!best || n > best.n) best = { n, dir };
  }
  return best?.dir ?? null;
}

export interface ResumeDecision {
  resumeFrom: string | null;
  note?: string;
}

export function decideResume(opts: {
  outputDir: string;
  doTrain: boolean;
  overwriteOutputDir: boolean;
  resumeFromCheckpoint: string | boolean | null;
}): ResumeDecision {
  const { outputDir } = opts;
  if (existsSync(outputDir) && !statSync(outputDir).isDirectory()) {
    throw new PtflowError(`output_dir ${outputDir} exists and is not a directory`, 2);
  }
  if (!opts.doTrain) return { resumeFrom: null };
  const r = opts.resumeFromCheckpoint;
  if (typeof r === 'string') {
    if (!existsSync(r)) throw new PtflowError(`resume_from_checkpoint: ${r} does not exist`, 2);
    if (!existsSync(path.join(r, 'trainer_state.json'))) {
      throw new PtflowError(`resume_from_checkpoint: ${r} is not a complete checkpoint (no trainer_state.json)`, 2);
    }
    return { resumeFrom: r, note: `Resuming training from ${r}.` };
  }
  if (r === true) {
    const last = lastCheckpoint(outputDir);
    if (!last) throw new PtflowError(`resume_from_checkpoint: true, but ${outputDir} has no checkpoint-N directory to resume from`, 2);
    return { resumeFrom: last, note: `Resuming training from ${last}.` };
  }
  if (opts.overwriteOutputDir || !existsSync(outputDir)) return { resumeFrom: null };
  const last = lastCheckpoint(outputDir);
  if (last) {
    return {
      resumeFrom: last,
      note: `Resuming training from ${last}. Set overwrite_output_dir: true to train from scratch instead.`,
    };
  }
  if (WEIGHT_FILES.some((f) => existsSync(path.join(outputDir, f)))) {
    throw new PtflowError(
      `Output directory already exists and is not empty: ${outputDir} holds final weights and no checkpoint. ` +
        'Set overwrite_output_dir: true (or choose another output_dir).',
      2,
    );
  }
  return { resumeFrom: null };
}

/**
 * Temporary names of src/engine/io/atomic.ts (`.<name>.tmp-<pid>-<hex>`, and `….old` for a directory
 * being replaced): a checkpoint or file a killed run left half written.
 */
const TEMP_RE = /^\..+\.tmp-\d+-[0-9a-f]{8}(\.old)?$/;

/**
 * Removes what a killed run left half written in `outputDir` (checkpoint directories and files under
 * their temporary names). Call only while holding the run lock: then no other run is writing there.
 * Returns the names removed.
 */
export function removeStaleTemps(outputDir: string): string[] {
  if (!existsSync(outputDir)) return [];
  const removed: string[] = [];
  for (const name of readdirSync(outputDir)) {
    if (!TEMP_RE.test(name)) continue;
    rmSync(path.join(outputDir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}
