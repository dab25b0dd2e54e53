/**
 * `checkpoint-N` directories: everything needed to continue a run exactly where it stopped.
 *
 *   config.json, generation_config.json, model.safetensors   (full / freeze: the whole model)
 *   adapter_config.json, adapter_model.safetensors           (lora: the adapter, PEFT layout)
 *   tokenizer files                                          (copied from the model directory)
 *   optimizer.safetensors   AdamW moments + step counts      (omitted with save_only_model)
 *   scheduler.json          {"last_epoch": N}                (HF LambdaLR's position)
 *   rng_state.json          seeds the run derives its randomness from
 *   ptflow_state.json       running loss since the last log, tokens seen, data cursor, the step, and
 *                           the settings the data order depends on (data_settings); with several
 *                           ranks and batches-edge steps, every rank's cursor (rank_cursors)
 *   trainer_state.json      HF TrainerState (written last)
 *
 * The directory is written under a temporary name and renamed into place, so a crash at any moment
 * leaves either the previous checkpoints only, or a complete new one. Weights that are not finite are
 * refused before anything is written. Weights and AdamW moments go to their files a few MiB at a
 * time from where the backend keeps them, so a save needs no second copy of the model or its state.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';
import { fsReason } from '../fs-error';
import { killIfArmed } from '../faults';
import { commitDirAtomic, tempPathFor, writeFileAtomic, writeJsonAtomic } from '../engine/io/atomic';
import { llamaConfigToJson } from '../engine/model/config';
import type { LlamaModel } from '../engine/model/llama';
import { saveHfModelDir, TOKENIZER_FILES } from '../engine/io/hf-model-dir';
import { savePeftAdapter } from '../engine/io/peft';
import { writeSafetensors, type TensorSource } from '../engine/io/safetensors';
import { borrowFloat32, tfTensorSource } from '../engine/io/tf-tensor-source';
import { adamwStateSources, restoreAdamWState } from '../engine/optim/adamw-state';
import type { AdamW } from '../engine/optim/adamw';
import { saveTrainerState, loadTrainerState, type TrainerState } from '../outputs/trainer-state';
import type { JsonValue } from '../../schemas/ports';
import type { DataSettings } from './data-settings';
import { readPtflowState } from './resume-check';

export interface RunProgressState {
  /** Sum of per-step losses since the last log and how many steps that is (HF tr_loss). */
  lossSinceLog: number;
  stepsSinceLog: number;
  /** Sum of all per-step losses (for train_loss at the end). */
  lossTotal: number;
  tokensSeen: number;
  /** Data position after the last consumed micro-batch (see CollatorActor). */
  cursor: JsonValue;
  skippedSteps: number;
}

export interface CheckpointContents {
  model: LlamaModel;
  optimizer: AdamW;
  trainerState: TrainerState;
  progress: RunProgressState;
  step: number;
  seed: number;
  tokenizerDir: string;
  baseModelNameOrPath: string | null;
  saveOnlyModel: boolean;
  /** Every rank's data cursor, in rank order, when they differ by rank (batches-edge steps with several ranks); else null. */
  rankCursors?: JsonValue[] | null;
  /** What the data order depends on (checked on resume: src/train/resume-check.ts). */
  dataSettings: DataSettings | null;
}

/**
 * Weights of the model (HF names) as sources that stream them to the file from where the backend
 * keeps them, with no copy of the model (engine/io/tf-tensor-source.ts). Every value is checked
 * finite first, so nothing is written for a model that diverged. The weights must not change
 * until the files are written (the trainer awaits the save before its next step).
 */
export function modelWeights(params: ReadonlyMap<string, tf.Tensor>, what: string): Map<string, TensorSource> {
  const out = new Map<string, TensorSource>();
  for (const [name, v] of params) {
    const data = borrowFloat32(v);
    for (let i = 0; i < data.length; i++) {
      if (!Number.isFinite(data[i])) {
        throw new PtflowError(`refusing to save ${what}: tensor ${name} holds a non-finite value (the weights diverged: lower learning_rate)`);
      }
    }
    out.set(name, tfTensorSource(v));
  }
  return out;
}

/** Write the model files (not the training state) of `model` into `dir`. */
export async function saveModelFiles(dir: string, model: LlamaModel, tokenizerDir: string, baseModel: string | null): Promise<void> {
  const lora = model.lora;
  if (lora) {
    await savePeftAdapter(dir, {
      adapterWeights: modelWeights(lora.params, dir),
      rank: lora.rank,
      alpha: lora.alpha,
      dropout: lora.dropout,
      targetModules: [...lora.targets],
      baseModelNameOrPath: baseModel,
    });
    // HF's Trainer saves the tokenizer next to an adapter too.
    for (const name of TOKENIZER_FILES) {
      const src = path.join(tokenizerDir, name);
      if (existsSync(src) && path.resolve(src) !== path.resolve(dir, name)) await writeFileAtomic(path.join(dir, name), await fsp.readFile(src));
    }
    return;
  }
  await saveHfModelDir(dir, {
    configJson: llamaConfigToJson(model.config),
    weights: modelWeights(model.params, dir),
    tokenizerFilesFrom: tokenizerDir,
  });
}

export async function saveCheckpoint(outputDir: string, c: CheckpointContents): Promise<{ dir: string; bytes: number }> {
  const finalDir = path.join(outputDir, `checkpoint-${c.step}`);
  const tmp = tempPathFor(finalDir);
  try {
    await fsp.mkdir(tmp, { recursive: true });
    await saveModelFiles(tmp, c.model, c.tokenizerDir, c.baseModelNameOrPath);
    if (!c.saveOnlyModel) {
      // Streamed from the optimizer's moments: no copy of the state (the model files likewise).
      const { tensors, metadata } = adamwStateSources(c.optimizer);
      await writeSafetensors(path.join(tmp, 'optimizer.safetensors'), tensors, metadata);
      await writeJsonAtomic(path.join(tmp, 'scheduler.json'), { last_epoch: c.step, _step_count: c.step + 1 });
      await writeJsonAtomic(path.join(tmp, 'rng_state.json'), { seed: c.seed, step: c.step });
    }
    killIfArmed('kill-in-checkpoint', c.step);
    await writeJsonAtomic(path.join(tmp, 'ptflow_state.json'), {
      ...c.progress, save_only_model: c.saveOnlyModel, step: c.step, ...(c.dataSettings ? { data_settings: c.dataSettings } : {}),
      ...(c.rankCursors ? { rank_cursors: c.rankCursors } : {}),
    });
    await saveTrainerState(path.join(tmp, 'trainer_state.json'), c.trainerState);
    await commitDirAtomic(tmp, finalDir);
  } catch (e) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    // Name the checkpoint as the user will look for it, not its temporary directory.
    if (e instanceof PtflowError) throw new PtflowError(e.message.split(tmp).join(finalDir), e.exitCode);
    throw new PtflowError(`could not write checkpoint ${finalDir}: ${fsReason(e)}`);
  }
  let bytes = 0;
  for (const f of await fsp.readdir(finalDir)) bytes += (await fsp.stat(path.join(finalDir, f))).size;
  return { dir: finalDir, bytes };
}

export interface LoadedCheckpoint {
  trainerState: TrainerState;
  progress: RunProgressState;
  dataSettings: DataSettings | null;
  restoreOptimizer(optimizer: AdamW): Promise<void>;
}

export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const trainerState = await loadTrainerState(path.join(dir, 'trainer_state.json'));
  const state = readPtflowState(dir);
  if (state.save_only_model) {
    throw new PtflowError(`${dir} was saved with save_only_model: true and holds no optimizer state; it cannot be resumed`);
  }
  const progress: RunProgressState = {
    lossSinceLog: state.lossSinceLog, stepsSinceLog: state.stepsSinceLog, lossTotal: state.lossTotal, tokensSeen: state.tokensSeen,
    cursor: (state.cursor ?? null) as JsonValue, skippedSteps: state.skippedSteps,
  };
  return {
    trainerState,
    progress,
    dataSettings: state.data_settings ?? null,
    async restoreOptimizer(optimizer) {
      await restoreAdamWState(path.join(dir, 'optimizer.safetensors'), optimizer);
    },
  };
}

/** Delete the oldest checkpoints beyond `limit` (HF `save_total_limit`), never `keep`. */
export async function rotateCheckpoints(outputDir: string, limit: number | null, keep: string): Promise<void> {
  if (!limit || limit <= 0) return;
  const dirs = (await fsp.readdir(outputDir))
    .map((n) => /^checkpoint-(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ n: Number(m[1]), dir: path.join(outputDir, m[0]) }))
    .sort((a, b) => a.n - b.n);
  const excess = dirs.length - limit;
  for (const d of dirs.slice(0, Math.max(0, excess))) {
    if (path.resolve(d.dir) === path.resolve(keep)) continue;
    await fsp.rm(d.dir, { recursive: true, force: true });
  }
}
