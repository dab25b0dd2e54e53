/**
 * TrainerActor: owns the backend, the weights and the optimizer, in its own worker thread (a tfjs step
 * blocks its thread; here it blocks nobody else). Reads gradient-accumulation windows from the
 * collator, takes optimizer steps, logs / evaluates / checkpoints on HF's schedule, and saves the final
 * model. The whole loop reads top to bottom in `run` below.
 *
 * Data-parallel (world_size > 1, one trainer per process): every rank starts from rank 0's weights,
 * trains on its slice of each global micro-batch, and steps with the gradients and loss summed over
 * all ranks (TrainStep.stepAcross), so every number it logs is the global one; evaluation is split
 * over the ranks batch by batch and its sums added up. Rank 0 alone writes anything to output_dir.
 */
import path from 'node:path';
import type { JsonValue } from '../schemas/ports';
import type { MicroBatch } from '../src/engine/batch';
import { initBackend, type BackendRequest } from '../src/engine/backend';
import { backendStartLine } from '../src/engine/backend-line';
import { AdamW } from '../src/engine/optim/adamw';
import { hfDecayFilter } from '../src/engine/optim/decay';
import { makeLrSchedule, resolveWarmupSteps, type SchedulerType } from '../src/engine/optim/schedule';
import { TrainStep, type GradReduction } from '../src/engine/train-step';
import { epochAt, floatingPointOps, speedMetrics, trainLogEntry, withEpoch, withStep } from '../src/outputs/log-entries';
import { TrainerLog } from '../src/outputs/trainer-log';
import { EventFileWriter } from '../src/outputs/tensorboard/event-writer';
import { tensorboardScalars } from '../src/outputs/tensorboard/hf-tags';
import { createTrainerState, markCheckpointSave, saveTrainerState } from '../src/outputs/trainer-state';
import { defineStage } from '../src/pipeline/stage';
import { blockIfArmed, holdIfArmed, killIfArmed } from '../src/faults';
import { traceBatches } from '../src/train/batch-trace';
import { loadCheckpoint, rotateCheckpoints, saveCheckpoint, saveModelFiles, type RunProgressState } from '../src/train/checkpoint';
import { finetuningArgs, readModelConfig, setupModel, type ModelSetupParams } from '../src/train/model-setup';
import { checkStepMemory, describeCheckpointing, describeEstimate, planStepMemory } from '../src/engine/memory/budget';
import { fmtBytes } from '../src/engine/memory/out-of-memory';
import { loadNativeAddon } from '../src/engine/native/addon';
import { trainableParameterCount } from '../src/engine/memory/trainable';
import { makePlan, shouldEval, shouldLog, shouldSave } from '../src/train/plan';
import { WindowReader } from '../src/train/window-reader';
import type { DataSettings } from '../src/train/data-settings';
import type { RebaseAnchor } from '../src/train/cursor-rebase';
import { PtflowError } from '../src/errors';
import { decodeTrainBatch } from '../schemas/train-batch';
import { evalMetricsOf, evalSums, type EvalMetrics } from './EvaluatorActor';
import { openTrainerCollective, type TrainerWorld } from '../src/distributed/trainer-world';
import { closeWorld } from '../src/distributed/world';
import { broadcastParameters } from '../src/distributed/sync-params';
import { gatherJson } from '../src/distributed/gather-json';
import { hasBatchesStep } from '../src/train/pipeline-settings';
import { GradBuckets, GradStream, gradLayout, type ReduceStats } from '../src/distributed/grad-buckets';
import { isEmptyShare } from '../src/data/collate';
import type { LlamaModel } from '../src/engine/model/llama';
import type { LogEntry } from '../src/outputs/trainer-state';
import * as tf from '@tensorflow/tfjs-core';

/** Size of the wasm backend's heap (it grows to its peak and never shrinks; tf.memory() omits it). */
function wasmHeapBytes(): number | null {
  const b = tf.getBackend() === 'wasm' ? (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }) : null;
  return b?.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

/** Parameters excluding `embed_tokens` (HF `num_parameters(exclude_embeddings=True)`), LoRA included. */
function nonEmbeddingParameters(model: LlamaModel): number {
  let n = 0;
  for (const [name, v] of model.params) if (name !== 'model.embed_tokens.weight') n += v.size;
  for (const v of model.lora?.params.values() ?? []) n += v.size;
  return n;
}

function sumSizes(vs: Iterable<{ size: number }>): number {
  let n = 0;
  for (const v of vs) n += v.size;
  return n;
}

/** Gradient checkpointing and, for `backend: auto`, whether wasm's heap can hold the run. */
async function planMemory(p: TrainerParams) {
  const cfg = await readModelConfig(p.model_name_or_path);
  const run = {
    batchSize: p.per_device_train_batch_size, cutoffLen: p.cutoff_len,
    gradientAccumulationSteps: p.gradient_accumulation_steps, trainableParams: trainableParameterCount(cfg, finetuningArgs(p)),
    // The addon's kernels are registered for wasm and cpu, the backends this plan chooses between.
    fusedKernels: (p.backend === 'auto' || p.backend === 'wasm' || p.backend === 'cpu') && loadNativeAddon().ok,
  };
  const { checkpointing, wasmUnfit } = planStepMemory(p, cfg, run, p.backend);
  return { cfg, run, checkpointing, wasmUnfit };
}

/** A wait for data at least this long is reported as a `train.stall` event (the pipeline fell behind). */
const STALL_REPORT_MS = 50;

export interface TrainerParams extends ModelSetupParams {
  backend: BackendRequest;
  webgpu_allow_software: boolean;
  num_threads: number | null;
  output_dir: string;
  do_eval: boolean;
  per_device_train_batch_size: number;
  gradient_accumulation_steps: number;
  learning_rate: number;
  num_train_epochs: number;
  max_steps: number;
  lr_scheduler_type: SchedulerType;
  lr_scheduler_kwargs: Record<string, unknown> | null;
  warmup_ratio: number;
  warmup_steps: number;
  weight_decay: number;
  adam_beta1: number;
  adam_beta2: number;
  adam_epsilon: number;
  max_grad_norm: number;
  logging_steps: number;
  save_steps: number;
  save_strategy: 'no' | 'steps' | 'epoch';
  save_total_limit: number | null;
  save_only_model: boolean;
  eval_steps: number | null;
  eval_strategy: 'no' | 'steps' | 'epoch';
  skip_nonfinite_steps: boolean;
  include_num_input_tokens_seen: boolean;
  /** Directory the tokenizer files come from (copied next to the weights). */
  tokenizer_dir: string;
  /** Checkpoint to resume from (decided on the main thread), or null. */
  resume_from: string | null;
  /** Directory for TensorBoard event files (report_to: tensorboard), or null. */
  tensorboard_dir: string | null;
  /** What the data order depends on, recorded in each checkpoint (src/train/data-settings.ts). */
  data_settings: DataSettings | null;
  /** Resume without the data cursor (the main thread checked everything else). */
  ignore_data_skip: boolean;
  /** Where the data cursor starts anew (rebase_data_cursor, or ignore_data_skip's restart), recorded in the checkpoints' data_settings; or null. */
  rebase: Omit<RebaseAnchor, 'micro_in_epoch'> | null;
  /** Tokens per sequence at most (the memory check sizes one step with it). */
  cutoff_len: number;
  gradient_checkpointing: boolean | null;
  disable_gradient_checkpointing: boolean;
  /** This trainer's rank among world_size data-parallel processes (absent: rank 0 of 1). */
  world?: TrainerWorld;
}

export interface TrainerResult {
  status: 'completed' | 'interrupted';
  global_step: number;
  log_history: Record<string, number>[];
  /** The log_history saved in trainer_state.json (what the plots show). */
  plot_history: Record<string, number>[];
  train_metrics: Record<string, number>;
  eval_metrics: EvalMetrics | null;
  data_wait_ms: number;
  /** Waiting for data before the first step; setup_ms: the rest of the time before it. */
  startup_wait_ms: number;
  setup_ms: number;
  train_ms: number;
  backend: string;
  resumed_from: string | null;
  /** Gradient allreduce over the run (zeros in a run of one process). */
  allreduce: { steps: number; bytes: number; reduce_ms: number; wait_ms: number; early_bytes: number };
}

export const stage = defineStage<TrainerParams>(async (ctx) => {
  const p = ctx.params;
  const stageStart = performance.now();
  const world = p.world ?? { rank: 0, world_size: 1 };
  const writer = world.rank === 0; // rank 0 alone writes to output_dir
  // Memory: checkpointing and the backend are decided from the shapes before any tensor exists.
  const mem = await planMemory(p);
  const backend = await initBackend(p.backend, {
    threads: p.num_threads ?? undefined, webgpuAllowSoftware: p.webgpu_allow_software, ...(mem.wasmUnfit ? { wasmUnfit: mem.wasmUnfit } : {}),
  });
  ctx.log('info', backendStartLine(backend));
  const collective = openTrainerCollective(world);
  if (mem.wasmUnfit) ctx.log('warn', `backend auto: wasm skipped (${mem.wasmUnfit})`);
  const estimate = checkStepMemory(mem.cfg, mem.run, mem.checkpointing.layers, backend.name);
  ctx.log(
    'info',
    `memory: one step needs an estimated ${describeEstimate(estimate)}; gradient checkpointing ` +
      `${describeCheckpointing(mem.checkpointing.layers, mem.cfg.numHiddenLayers)} (${mem.checkpointing.why})`,
  );

  ctx.setMemoryProbe(() => ({ tensorBytes: tf.memory().numBytes, ...(wasmHeapBytes() !== null ? { wasmHeapBytes: wasmHeapBytes()! } : {}) }));

  // Model, evaluation set, and the shape of the run.
  blockIfArmed('block-load', 1);
  const model = await setupModel(p, p.resume_from);
  model.setGradientCheckpointing(mem.checkpointing.layers);
  // Every rank reads all evaluation batches (its own data actors send them) and evaluates every
  // world_size-th one, starting at its rank.
  const evalBatches: MicroBatch[] = [];
  let evalSeen = 0;
  let evalSamplesAll = 0;
  for await (const m of ctx.input('eval')) {
    const b = decodeTrainBatch(m.payload);
    evalSamplesAll += b.batchSize;
    if (evalSeen++ % world.world_size === world.rank) evalBatches.push(b);
  }
  const evalBatchesAll = evalSeen;
  const reader = new WindowReader(ctx.input('train'), p.gradient_accumulation_steps);
  const first = await reader.peekMeta();
  // Before its first step the trainer waits for the evaluation batches and the first micro-batch: in
  // map mode the collator sends them only once the whole corpus is read and tokenized.
  const startupWaitMs = ctx.input('eval').stats.waitMs + reader.startupWaitMs;
  const plan = makePlan({
    blocks: first ? first.blocks : 0, // null when streaming: the plan then runs on max_steps
    batchSize: p.per_device_train_batch_size * world.world_size, // a global micro-batch
    gradAccum: p.gradient_accumulation_steps,
    numTrainEpochs: p.num_train_epochs,
    maxSteps: p.max_steps,
    loggingSteps: p.logging_steps,
    evalSteps: p.eval_steps,
    saveSteps: p.save_steps,
    evalStrategy: p.do_eval ? p.eval_strategy : 'no',
    saveStrategy: p.save_strategy,
  });

  const optimizer = new AdamW(
    model.trainableParams(),
    { beta1: p.adam_beta1, beta2: p.adam_beta2, eps: p.adam_epsilon, weightDecay: p.weight_decay },
    hfDecayFilter,
  );
  const schedule = makeLrSchedule({
    type: p.lr_scheduler_type,
    baseLr: p.learning_rate,
    warmupSteps: resolveWarmupSteps(p.warmup_steps, p.warmup_ratio, plan.totalSteps),
    totalSteps: plan.totalSteps,
    kwargs: p.lr_scheduler_kwargs ?? undefined,
  });
  const trainStep = new TrainStep(model, optimizer, (s: number) => schedule.lrAt(s), {
    maxGradNorm: p.max_grad_norm,
    skipNonFinite: p.skip_nonfinite_steps,
    seed: p.seed, // LoRA dropout masks derive from the run's seed
    // Gradients reach the allreduce during the backward pass, which hides most of it (README, "Multiple
    // machines"); PTFLOW_GRAD_HANDOVER=0 hands them over after it (bench/ddp-train.ts compares).
    handOverGradients: process.env['PTFLOW_GRAD_HANDOVER'] !== '0',
    memoryHint: () => `Estimated need per step: ${describeEstimate(estimate)}`,
  });

  const state = createTrainerState({
    max_steps: plan.totalSteps,
    num_train_epochs: plan.epochsNeeded ?? 1,
    logging_steps: plan.loggingSteps,
    eval_steps: plan.evalSteps,
    save_steps: plan.saveSteps,
    train_batch_size: p.per_device_train_batch_size,
  });
  let progress: RunProgressState = {
    lossSinceLog: 0, stepsSinceLog: 0, lossTotal: 0, tokensSeen: 0, cursor: null, skippedSteps: 0,
  };
  let savedRebase: RebaseAnchor | undefined;
  if (p.resume_from) {
    const ck = await loadCheckpoint(p.resume_from);
    await ck.restoreOptimizer(optimizer);
    Object.assign(state, ck.trainerState, { max_steps: plan.totalSteps });
    progress = ck.progress;
    const savedMicro = ck.dataSettings?.micro_per_epoch ?? null;
    // In the saved run's global micro-batch (a re-base changed ours; a shifted epoch has its own count).
    const savedBatch = (ck.dataSettings?.per_device_train_batch_size ?? p.per_device_train_batch_size) * (ck.dataSettings?.world_size ?? world.world_size);
    const nowMicro = first && first.blocks !== null ? Math.ceil(first.blocks / savedBatch) : first?.microPerEpoch;
    if (!p.ignore_data_skip && first && savedMicro !== null && nowMicro !== savedMicro) {
      // Same settings and file stamps, different data (files rewritten with their old size and mtime).
      throw new PtflowError(
        `cannot resume ${p.resume_from} exactly: its run had ${savedMicro} micro-batches per epoch, the training data now gives ` +
          `${nowMicro}. Start afresh (overwrite_output_dir: true, or another output_dir), or set ignore_data_skip: true`,
        2,
      );
    }
    savedRebase = p.ignore_data_skip ? undefined : ck.dataSettings?.rebase;
    trainStep.stepsDone = state.global_step;
    ctx.log('info', `resumed from ${p.resume_from} at step ${state.global_step}`);
  }
  // Every rank starts from rank 0's weights (a resumed run's ranks all read the same checkpoint).
  await broadcastParameters([...model.params, ...(model.lora?.params ?? [])], collective);
  // The buckets' buffers, allocated at the first step that reduces and reused by every later one.
  let buckets: GradBuckets | null = null;
  const reduceTotals = { steps: 0, bytes: 0, reduce_ms: 0, wait_ms: 0, early_bytes: 0, copy_ms: 0 };
  // One GradStream a step: buckets start during the last backward pass as their gradients are final.
  const reduceGrads = (sparseRows: Int32Array | null): GradReduction => {
    buckets ??= new GradBuckets(gradLayout(model.trainableParams()), world.bucket_mb ? world.bucket_mb * 2 ** 20 : undefined, model.rowSparseParam() ?? undefined);
    const stream = new GradStream(buckets, collective, undefined, sparseRows);
    return {
      offer: (name, grad) => stream.offer(name, grad),
      finish: async (g, alsoSum) => {
        const r: { stats: ReduceStats; grads: Map<string, tf.Tensor> } = await stream.finish(g, alsoSum);
        reduceTotals.steps += 1;
        reduceTotals.bytes += r.stats.bytes;
        reduceTotals.reduce_ms += r.stats.reduceMs;
        reduceTotals.wait_ms += r.stats.waitMs;
        reduceTotals.early_bytes += r.stats.earlyBytes;
        reduceTotals.copy_ms += r.stats.copyMs;
        return r.grads;
      },
    };
  };

  // The re-base anchor: this run's, or the one the resumed checkpoint carries. micro_per_epoch is an
  // unshifted epoch's count (the plan's) where the first epoch is a re-base's shifted one.
  const rebase: RebaseAnchor | undefined = p.rebase && first ? { ...p.rebase, micro_in_epoch: first.microPerEpoch } : savedRebase;
  const shiftedFirst = p.rebase !== null && first !== null && first.epoch === p.rebase.epoch;
  const dataSettings: DataSettings | null = p.data_settings
    ? {
        ...p.data_settings,
        world_size: world.world_size,
        micro_per_epoch: (shiftedFirst ? plan.microPerEpoch : first?.microPerEpoch) ?? null,
        ...(rebase ? { rebase } : {}),
      }
    : null;
  const nonEmbedding = nonEmbeddingParameters(model);
  const trainerLog = writer ? new TrainerLog(p.output_dir) : null;
  await trainerLog?.begin(plan.totalSteps, state.global_step);
  // Every log_history entry also goes to TensorBoard, as HF's TensorBoardCallback.on_log does.
  const tensorboard = writer && p.tensorboard_dir ? await EventFileWriter.open(p.tensorboard_dir) : null;
  const logEntry = async (entry: LogEntry): Promise<void> => {
    state.log_history.push(entry);
    await tensorboard?.addScalars(entry.step, tensorboardScalars(entry));
  };
  let stopRequested = false;
  ctx.onControl((kind) => {
    if (kind === 'stop') stopRequested = true;
  });

  // The loop: one iteration = one optimizer step.
  const t0 = performance.now();
  const firstStepMs = Math.round(t0 - stageStart);
  const setupMs = firstStepMs - Math.round(startupWaitMs);
  ctx.emit('train.start', {
    first_step_ms: firstStepMs, startup_wait_ms: Math.round(startupWaitMs), setup_ms: setupMs,
    global_step: state.global_step, total_steps: plan.totalSteps, backend: backend.name,
    parameters: sumSizes(model.params.values()) + sumSizes(model.lora?.params.values() ?? []),
    trainable_parameters: sumSizes(model.trainableParams().values()),
  }, state.global_step);
  let lastSavedStep = -1;
  let trainMs = 0;
  let evalMetrics: EvalMetrics | null = null;
  let plotHistory: Record<string, number>[] | null = null;
  const doEvaluate = async (step: number, epoch: number): Promise<void> => {
    const te = performance.now();
    const sums = evalSums(model, evalBatches);
    let runtime = (performance.now() - te) / 1000;
    if (collective.size > 1) {
      // Σ over ranks of each share's sums; the slowest rank's time is the evaluation's.
      const buf = Float64Array.of(sums.weighted, sums.samples);
      await collective.allreduce(buf, 'sum');
      sums.weighted = buf[0];
      sums.samples = buf[1];
      const times = new Float64Array(collective.size);
      times[collective.rank] = runtime;
      await collective.allreduce(times, 'sum');
      runtime = Math.max(...times);
    }
    const m = evalMetricsOf(sums, runtime, evalBatchesAll);
    evalMetrics = { ...m, epoch };
    const { eval_perplexity: _ppl, ...logged } = m;
    await logEntry(withStep(withEpoch(logged, epoch), step));
    ctx.emit('eval.result', {
      eval_loss: evalMetrics.eval_loss, eval_perplexity: evalMetrics.eval_perplexity,
      eval_runtime: evalMetrics.eval_runtime, eval_samples: evalSamplesAll, epoch,
    }, step);
  };
  // With several ranks, a batches-edge step leaves each rank's data cursor its own (its own snapshots,
  // drops and splits): every rank's goes into the checkpoint, for a resume on as many ranks.
  const perRankCursors = collective.size > 1 && hasBatchesStep(dataSettings?.pipeline ?? []);
  const checkpoint = async (step: number): Promise<void> => {
    const rankCursors = perRankCursors ? await gatherJson(collective, progress.cursor) : null;
    if (!writer) {
      lastSavedStep = step;
      return;
    }
    const tc = performance.now();
    markCheckpointSave(state, step === plan.totalSteps);
    const saved = await saveCheckpoint(p.output_dir, {
      model, optimizer, trainerState: state, progress, step, seed: p.seed,
      tokenizerDir: p.tokenizer_dir, baseModelNameOrPath: p.train_from_scratch ? null : p.model_name_or_path,
      saveOnlyModel: p.save_only_model, dataSettings, rankCursors,
    });
    lastSavedStep = step;
    await rotateCheckpoints(p.output_dir, p.save_total_limit, saved.dir);
    ctx.emit('checkpoint.saved', { path: saved.dir, step, bytes: saved.bytes, elapsed_ms: Math.round(performance.now() - tc) }, step);
  };

  // A stop (a signal reaches every rank, at slightly different times) is agreed on before each step,
  // so all ranks stop after the same one.
  const agreeStop = async (): Promise<boolean> => {
    if (collective.size === 1) return stopRequested;
    const flag = Float64Array.of(stopRequested ? 1 : 0);
    await collective.allreduce(flag, 'sum');
    return flag[0] > 0;
  };
  // Every rank takes part in a checkpoint that gathers the cursors. Saving by steps decides alike on
  // every rank; by epoch it may not, as an epoch may end on one rank's step and not another's when
  // batches-edge steps drop or split micro-batches.
  const agreeSave = async (save: boolean): Promise<boolean> => {
    if (!perRankCursors || p.save_strategy !== 'epoch') return save;
    const flag = Float64Array.of(save ? 1 : 0);
    await collective.allreduce(flag, 'sum');
    return flag[0] > 0;
  };
  while (state.global_step < plan.totalSteps && !(stopRequested = await agreeStop())) {
    const window = await reader.next();
    if (!window) break;
    const ts = performance.now();
    blockIfArmed('block-step', state.global_step + 1);
    // The window's input tokens, summed over the ranks within the step (HF counts every rank's).
    const inputTokensSum = Float64Array.of(window.micro.reduce((a, b) => a + (isEmptyShare(b) ? 0 : b.batchSize * b.seqLen), 0));
    const r = await trainStep.stepAcross(window.micro, collective, reduceGrads, inputTokensSum);
    const stepMs = performance.now() - ts;
    trainMs += stepMs;
    state.global_step += 1;
    const step = state.global_step;
    traceBatches(step, window.micro, window.last.cursor);
    // Streaming (length unknown): HF's epoch for an iterable dataset under max_steps is step / max_steps.
    const epoch = window.last.microPerEpoch === null ? step / plan.totalSteps : epochAt(window.last.epoch, window.last.micro + 1, window.last.microPerEpoch);
    state.epoch = epoch;
    if (r.skipped) {
      progress.skippedSteps += 1;
      ctx.log('warn', `step ${step} skipped: loss ${r.loss}, grad_norm ${r.gradNorm} (skip_nonfinite_steps; ${progress.skippedSteps} skipped so far)`);
    } else {
      progress.lossSinceLog += r.loss;
      progress.lossTotal += r.loss;
      progress.stepsSinceLog += 1;
    }
    const inputTokens = inputTokensSum[0];
    progress.tokensSeen += inputTokens;
    state.total_flos += floatingPointOps(inputTokens, nonEmbedding);
    progress.cursor = window.last.cursor as unknown as JsonValue;
    if (p.include_num_input_tokens_seen) state.num_input_tokens_seen = progress.tokensSeen;
    if (window.waitMs >= STALL_REPORT_MS) ctx.emit('train.stall', { waited_ms: Math.round(window.waitMs), on: 'CollatorActor' }, step);
    ctx.emit('train.step', {
      loss: r.loss, learning_rate: r.lr, grad_norm: r.gradNorm, epoch, tokens: r.tokens,
      tokens_per_second: (r.tokens / stepMs) * 1000, step_time_ms: stepMs, data_wait_ms: window.waitMs,
      total_steps: plan.totalSteps,
    }, step);

    if (shouldLog(step, plan) && progress.stepsSinceLog > 0) {
      const entry = trainLogEntry({
        meanLoss: progress.lossSinceLog / progress.stepsSinceLog, gradNorm: r.gradNorm, learningRate: r.lr, epoch, step,
        numInputTokensSeen: p.include_num_input_tokens_seen ? progress.tokensSeen : undefined,
      });
      await logEntry(entry);
      progress.lossSinceLog = 0;
      progress.stepsSinceLog = 0;
      await trainerLog?.log(state);
      ctx.emit('train.log', entry, step);
    }
    if (shouldEval(step, plan, p.do_eval ? p.eval_strategy : 'no', window.last.lastInEpoch) && evalBatchesAll > 0) {
      await doEvaluate(step, epoch);
      await trainerLog?.log(state);
    }
    if (await agreeSave(shouldSave(step, plan, p.save_strategy, window.last.lastInEpoch))) await checkpoint(step);
    killIfArmed('kill-after-step', step);
    holdIfArmed('hold-after-step', step);
  }

  const step = state.global_step;
  if (collective.size > 1 && reduceTotals.steps > 0) {
    const r = reduceTotals;
    const hidden = r.reduce_ms > 0 ? 1 - r.wait_ms / r.reduce_ms : 0;
    ctx.log('info', `gradient allreduce: ${r.steps} steps, ${fmtBytes(r.bytes / r.steps)} a step, ${(r.reduce_ms / r.steps).toFixed(1)} ms a step ` +
      `(${(r.wait_ms / r.steps).toFixed(1)} ms of it waited for after the last bucket was handed over: ${(100 * hidden).toFixed(0)} % hidden; ` +
      `${(100 * r.early_bytes / Math.max(1, r.bytes)).toFixed(0)} % of the bytes started during backward; ` +
      `${(r.copy_ms / r.steps).toFixed(1)} ms a step copying gradients into the buckets and back)`);
  }
  if (stopRequested) {
    if (lastSavedStep !== step && step > 0) await checkpoint(step);
    await tensorboard?.close();
    await closeWorld(collective); // every rank waits here until rank 0 has saved
    return result('interrupted');
  }

  // End of training: HF's final log entry, the model, the state.
  const runtime = (performance.now() - t0) / 1000; // this process's training time, as HF's train_runtime
  const stepsThisRun = Math.max(1, step);
  const trainMetrics = withEpoch({
    ...speedMetrics('train', runtime, {
      numSamples: stepsThisRun * p.per_device_train_batch_size * p.gradient_accumulation_steps * world.world_size,
      numSteps: stepsThisRun,
    }),
    total_flos: state.total_flos,
    train_loss: progress.lossTotal / Math.max(1, step - progress.skippedSteps),
  }, state.epoch);
  await logEntry(withStep(trainMetrics, step));
  if (writer) {
    await saveModelFiles(p.output_dir, model, p.tokenizer_dir, p.train_from_scratch ? null : p.model_name_or_path);
    await saveTrainerState(path.join(p.output_dir, 'trainer_state.json'), state);
  }
  // The plots are drawn from the saved state (LLaMA-Factory plots trainer_state.json before evaluating).
  plotHistory = [...state.log_history];
  if (p.do_eval && evalBatchesAll > 0) {
    // LLaMA-Factory evaluates once more after training (trainer.evaluate); the entry joins the
    // in-memory log_history (the model card's table) but not the trainer_state.json saved above.
    await doEvaluate(step, state.epoch ?? 0);
  }
  await tensorboard?.close();
  // Every rank waits here until rank 0 has saved (a rank's thread that ends with the world open ends the job).
  await closeWorld(collective);
  return result('completed', trainMetrics);

  function result(status: TrainerResult['status'], trainMetrics: Record<string, number> = {}): JsonValue {
    const r: TrainerResult = {
      status, global_step: state.global_step, log_history: state.log_history, plot_history: plotHistory ?? state.log_history,
      train_metrics: trainMetrics,
      eval_metrics: evalMetrics, data_wait_ms: reader.totalWaitMs, startup_wait_ms: startupWaitMs,
      setup_ms: setupMs, train_ms: trainMs, backend: backend.name,
      resumed_from: p.resume_from, allreduce: reduceTotals,
    };
    return r as unknown as JsonValue;
  }
});
