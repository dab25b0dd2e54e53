/**
 * `ptflow train`: LLaMA-Factory's `run_pt` as a pipeline run. Everything that can be checked before
 * threads start is checked here (config, datasets, tokenizer, model config, output directory), so a
 * mistake costs a second, not a tokenization pass. Then the default graph runs, and CardActor writes
 * the results, plots and model card from what the trainer reports.
 *
 * Launched as several processes (mpiexec, srun: src/distributed/launch.ts), each process runs
 * its own pipeline on its share of the data; rank 0 alone takes the run lock, serves the tap and
 * writes the outputs (the trainer writes nothing on the other ranks either).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadTrainConfig, type TrainConfig } from '../config';
import { PtflowError } from '../errors';
import { hangIfArmed } from '../faults';
import { resolveDatasets, type DatasetSpec } from '../data/registry';
import { describeBadRecord } from '../data/readers/record-error';
import { loadTokenizer } from '../data/tokenizer';
import { readModelConfig } from '../train/model-setup';
import { checkBaseWeights } from '../train/weights-preflight';
import { TelemetryBus } from '../telemetry/bus';
import type { TelemetryPayloads } from '../../schemas/telemetry';
import { loggedOutput, MAIN_SOURCE } from '../telemetry/logged-output';
import { startTapFromConfig } from '../telemetry/tap/from-config';
import { llamaParameterCount, RunDescription, tapGraph } from '../telemetry/tap/hello';
import { attachProgress } from '../cli/progress';
import { StatsCollector } from '../pipeline/stats';
import { startPipeline } from '../pipeline/supervisor';
import { defaultGraph } from './default-graph';
import { decideResume, removeStaleTemps } from './output-dir';
import { acquireRunLock } from './run-lock';
import { exitCodeOf, RunSignals, type StopSignal } from './signals';
import { refuseOutputOverInputs, trainInputs } from './input-guard';
import { runCardActor } from '../../actors/CardActor';
import type { TrainerResult } from '../../actors/TrainerActor';
import type { CacheBlockParams } from '../../actors/CacheBlockActor';
import type { CacheShardParams } from '../../actors/CacheShardActor';
import type { TokenCacheIndex } from '../../schemas/token-cache';
import { cacheForTrain, expectedPreprocessing } from './prepare';
import { runCacheDir, type RunCacheBuild } from '../cache/run-cache';
import { tensorboardDir } from '../outputs/tensorboard/log-dir';
import { EventFileWriter } from '../outputs/tensorboard/event-writer';
import { evalOnlyEntry, tensorboardScalars } from '../outputs/tensorboard/hf-tags';
import { dataSettingsOf, type DataSettings } from '../train/data-settings';
import { pipelineSettingsOf } from '../train/pipeline-settings';
import { checkResume, type ResumePlan } from '../train/resume-check';
import type { JsonValue } from '../../schemas/ports';
import type { DataCursor, TrainCursor } from '../../schemas/train-batch-meta';
import { resolvePipeline, splitAtCache, type ResolvedStep } from '../actors/resolve';
import { inexactResumeWarning } from '../actors/resume-exactness';
import { insertSteps } from '../pipeline/insert-steps';
import type { Launch } from '../distributed/launch';
import { probeRanksOnStop, requireTransport } from '../distributed/world';
import { refuseUnsupportedInWorld } from './world-checks';
import { sourceCursorOf, stepSnapshotsOf } from '../actors/step-snapshots';
import { isSplitCursor } from '../../schemas/split-cursor';

export interface TrainRunOptions {
  /** Where progress goes (default stderr); tests pass a buffer. */
  out?: NodeJS.WritableStream;
  tty?: boolean;
  bus?: TelemetryBus;
  /** Install SIGINT/SIGTERM handlers (the CLI does; library callers may not want them). */
  handleSignals?: boolean;
}

export interface TrainRunResult {
  status: 'completed' | 'interrupted';
  outputDir: string;
  exitCode: number;
}

export async function runTrainCommand(configPath: string, overrides: string[]): Promise<number> {
  const r = await runTrain(configPath, overrides, { handleSignals: true });
  return r.exitCode;
}

export async function runTrain(configPath: string, overrides: string[], opts: TrainRunOptions = {}): Promise<TrainRunResult> {
  const terminal = opts.out ?? process.stderr;
  // From the first line: a signal during startup stops the run at once (src/workflow/signals.ts).
  const signals = opts.handleSignals ? new RunSignals(terminal) : null;
  let bus = opts.bus ?? null;
  try {
    const { config: c, warnings, where } = loadTrainConfig(configPath, overrides);
    bus ??= new TelemetryBus(randomUUID(), c.tap_history);
    // Every line printed from here on is also a `log` event (warnings included).
    const out = loggedOutput(terminal, bus);
    for (const w of warnings) out.write(`warning: ${w}\n`);
    const steps = splitAtCache(resolvePipeline(c.pipeline, configPath, where), c.tokenized_path);
    // The tap starts before any work, so a port in use costs nothing and a client sees the whole run.
    const world = requireTransport(); // several ranks without the MPI addon: the install hint, before any work
    refuseUnsupportedInWorld(c, world);
    const run = new RunDescription('train', c as unknown as Record<string, unknown>);
    const tap = world.rank === 0 ? await startTapFromConfig(c, bus, run, out) : null;
    try {
      return await checkAndTrain(c, configPath, { ...opts, bus }, { run, out, terminal, bus, signals, steps, world });
    } catch (e) {
      // The CLI prints it; a telemetry client sees it as the run's last `log` event (before the tap closes).
      if (!(e as Record<symbol, unknown>)[LOGGED]) bus.emit('log', { level: 'error', message: (e as Error).message }, { source: MAIN_SOURCE });
      throw Object.assign(e as Error, { [LOGGED]: true });
    } finally {
      await tap?.close();
    }
  } catch (e) {
    // A config error: no tap listens yet, but an in-process subscriber (opts.bus) does.
    if (bus && !(e as Record<symbol, unknown>)[LOGGED]) bus.emit('log', { level: 'error', message: (e as Error).message }, { source: MAIN_SOURCE });
    throw e;
  } finally {
    signals?.dispose();
  }
}

const LOGGED = Symbol('published as a log event');

interface RunChannels {
  run: RunDescription;
  /** Prints and publishes each line as a `log` event; `terminal` only prints (the progress display). */
  out: NodeJS.WritableStream;
  terminal: NodeJS.WritableStream;
  bus: TelemetryBus;
  signals: RunSignals | null;
  /** `prepare`: run on the documents into the tokenized cache; `graph`: inserted into the training graph. */
  steps: { prepare: ResolvedStep[]; graph: ResolvedStep[] };
  world: Launch;
}

async function checkAndTrain(c: TrainConfig, configPath: string, opts: TrainRunOptions, ch: RunChannels): Promise<TrainRunResult> {
  const { run, out, terminal, bus, signals, steps, world } = ch;
  // Fast checks before any thread starts.
  const trainSets: DatasetSpec[] = c.do_train ? resolveDatasets(c.dataset_dir, c.dataset ?? []) : [];
  const evalSets: DatasetSpec[] = c.eval_dataset && c.eval_dataset.length > 0 ? resolveDatasets(c.dataset_dir, c.eval_dataset) : [];
  if (!c.do_train && !c.do_eval) throw new PtflowError('nothing to do: set do_train and/or do_eval', 2);
  if (!c.do_train && evalSets.length === 0) throw new PtflowError('do_eval without do_train needs eval_dataset', 2);
  const modelConfig = await readModelConfig(c.model_name_or_path);
  run.set({ model_parameters: llamaParameterCount(modelConfig) });
  if (!c.train_from_scratch) await checkBaseWeights(c.model_name_or_path, modelConfig);
  const tokenizer = await loadTokenizer(c.model_name_or_path);
  if (tokenizer.vocabSize > modelConfig.vocabSize) {
    throw new PtflowError(
      `${path.join(c.model_name_or_path, 'tokenizer.json')} has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${modelConfig.vocabSize}`,
      2,
    );
  }
  refuseOutputOverInputs(c.output_dir, trainInputs(c, [...trainSets, ...evalSets]));
  // The cache a run builds at tokenized_path must not land on its model or data either.
  if (c.tokenized_path) {
    refuseOutputOverInputs(c.tokenized_path, trainInputs({ ...c, tokenized_path: null, logging_dir: null }, [...trainSets, ...evalSets]), 'tokenized_path');
  }
  const resume = decideResume({
    outputDir: c.output_dir,
    doTrain: c.do_train,
    overwriteOutputDir: c.overwrite_output_dir,
    resumeFromCheckpoint: c.resume_from_checkpoint,
  });
  await hangIfArmed('hang-startup', 1);
  const dataSettings = dataSettingsOf(c, trainSets, evalSets, tokenizer.fingerprint, world.size, pipelineSettingsOf([...steps.prepare, ...steps.graph]));
  const resumePlan = resume.resumeFrom ? checkResume(resume.resumeFrom, dataSettings, c.ignore_data_skip, c.rebase_data_cursor, world.rank) : null;
  makeOutputDir(c.output_dir);
  // Rank 0 writes output_dir; the other ranks of its job only read from it (a checkpoint to resume).
  const lock = world.rank === 0 ? acquireRunLock(c.output_dir) : { release: (): string | null => null };
  signals?.onCleanup(() => lock.release());
  try {
    if (world.rank === 0) removeStaleTemps(c.output_dir);
    if (world.size > 1) out.write(`data-parallel training: rank ${world.rank} of ${world.size} (${world.source})\n`);
    if (resume.note) out.write(resume.note + '\n');
    for (const n of resumePlan?.notes ?? []) out.write(n + '\n');
    // tokenized_path: read the tokenized cache (built first when absent; a stale one is refused).
    const cache = c.tokenized_path ? await cacheForTrain(c, trainSets, evalSets, tokenizer, out, configPath, steps.prepare) : null;
    // Map mode without tokenized_path: the run's own cache, built by the data actor (src/cache/run-cache.ts).
    const runCache = c.tokenized_path ? null : runCacheBuild(c, steps.graph, trainSets, evalSets, tokenizer.fingerprint, world);
    return await runPipeline(c, {
      runCache,
      trainSets, evalSets, tokenizer, resumeFrom: resume.resumeFrom, resumeCursor: resumePlan?.cursor ?? null, rankCursors: resumePlan?.rankCursors, rebase: resumePlan?.rebase ?? null, dataSettings, out, terminal, bus, opts, cache, run,
      vocabSize: modelConfig.vocabSize,
      signals,
      steps: steps.graph,
      world,
    });
  } finally {
    const problem = lock.release();
    if (problem) out.write(`warning: ${problem} (remove it by hand once no ptflow run uses ${c.output_dir})\n`);
  }
}

interface RunInputs {
  trainSets: DatasetSpec[];
  evalSets: DatasetSpec[];
  tokenizer: Awaited<ReturnType<typeof loadTokenizer>>;
  resumeFrom: string | null;
  /** The checked data cursor to resume from (null: from the beginning). */
  resumeCursor: TrainCursor | null;
  /** The checkpoint holds every rank's cursor: `resumeCursor` is this rank's own, or rank 0's (ResumePlan). */
  rankCursors: ResumePlan['rankCursors'];
  /** Where the data cursor starts anew (rebase_data_cursor, ignore_data_skip), recorded by the trainer; or null. */
  rebase: ResumePlan['rebase'];
  dataSettings: DataSettings;
  /** config.json's vocab_size: token ids read from a cache must be below it. */
  vocabSize: number;
  cache: TokenCacheIndex | null;
  /** Map mode without tokenized_path: build (or reuse) the run's own cache and train from it. */
  runCache: RunCacheBuild | null;
  signals: RunSignals | null;
  /** `pipeline:` steps in the graph (with a cache: none on the docs edge, those ran in the cache, see splitAtCache). */
  steps: ResolvedStep[];
  world: Launch;
  /** Prints and publishes each line as a `log` event; `terminal` only prints (the progress display). */
  out: NodeJS.WritableStream;
  terminal: NodeJS.WritableStream;
  bus: TelemetryBus;
  opts: TrainRunOptions;
  run: RunDescription;
}

async function runPipeline(c: TrainConfig, inp: RunInputs): Promise<TrainRunResult> {
  const { tokenizer, out, terminal, bus, opts } = inp;
  const detachProgress = attachProgress(bus, { tty: opts.tty ?? Boolean((terminal as NodeJS.WriteStream).isTTY), out: terminal });
  const stats = new StatsCollector(bus);
  const startedAt = Date.now();
  bus.emit('run.start', { config: c as unknown as Record<string, unknown>, output_dir: c.output_dir, pid: process.pid, resumed_from: inp.resumeFrom });

  // The data sources start where the cursor says; in the middle of a split, before the micro-batch that was split.
  const resumeCursor = sourceCursorOf(inp.resumeCursor);
  const graph = insertSteps(defaultGraph({
    shard: {
      train: inp.trainSets, eval: inp.evalSets, max_samples: c.max_samples ?? null, mix_strategy: c.mix_strategy,
      interleave_probs: c.interleave_probs ?? null, val_size: c.val_size, seed: c.seed, do_train: c.do_train,
      on_bad_record: c.on_bad_record, streaming: c.streaming, buffer_size: c.buffer_size, resume_cursor: resumeCursor,
    },
    tokenizer: { tokenizer_dir: c.model_name_or_path, workers: c.tokenizer_workers ?? null, packing: c.packing, cutoff_len: c.cutoff_len },
    collator: {
      cutoff_len: c.cutoff_len, packing: c.packing, neat_packing: c.neat_packing, add_bos: tokenizer.addBosToken,
      bos_id: tokenizer.bosId ?? null, pad_id: tokenizer.padId ?? tokenizer.eosId, train_batch_size: c.per_device_train_batch_size,
      eval_batch_size: c.per_device_eval_batch_size, seed: c.data_seed ?? c.seed, disable_shuffling: c.disable_shuffling,
      train: c.do_train, resume_cursor: resumeCursor, streaming: c.streaming, rank: inp.world.rank, world_size: inp.world.size,
    },
    trainer: c.do_train
      ? {
          ...trainerParams(c, inp.resumeFrom), data_settings: inp.dataSettings, ignore_data_skip: c.ignore_data_skip, rebase: inp.rebase,
          world: { rank: inp.world.rank, world_size: inp.world.size, timeout_s: c.ddp_timeout, bucket_mb: c.ddp_bucket_cap_mb ?? null },
        }
      : null,
    evaluator: c.do_train ? null : { ...modelParams(c), backend: c.backend, webgpu_allow_software: c.webgpu_allow_software, num_threads: c.num_threads ?? null },
    blocks: inp.runCache
      ? { ...cacheBlockParams(c, inp.runCache.dir, null, tokenizer, resumeCursor), build: inp.runCache, rank: inp.world.rank, world_size: inp.world.size, vocab_size: inp.vocabSize }
      : inp.cache && !cacheInMemory(c)
        ? { ...cacheBlockParams(c, c.tokenized_path as string, inp.cache, tokenizer, resumeCursor), rank: inp.world.rank, world_size: inp.world.size, vocab_size: inp.vocabSize }
        : null,
    cache: inp.cache && cacheInMemory(c) ? { ...cacheShardParams(c, inp.cache, tokenizer), vocab_size: inp.vocabSize } : null,
    prefetchBatches: c.prefetch_batches,
    prefetchBytes: c.prefetch_bytes,
  }), inp.steps, [], inp.resumeCursor as unknown as JsonValue);
  if (inp.resumeCursor !== null && inp.world.rank === 0) {
    const fromStart = isSplitCursor(inp.resumeCursor) && inp.resumeCursor.from === null;
    const warning = inexactResumeWarning(inp.steps, { streaming: c.streaming, worldSize: inp.world.size, fromStart, rankCursors: inp.rankCursors }, stepSnapshotsOf(inp.resumeCursor));
    if (warning !== null) out.write(warning + '\n');
  }
  inp.run.set({ graph: tapGraph(graph) });
  // The hello names the backend the trainer actually started (auto resolves in its thread).
  bus.subscribe((e) => {
    if (e.type === 'train.start') inp.run.set({ backend: (e.data as TelemetryPayloads['train.start']).backend });
  });
  const finisher = c.do_train ? 'TrainerActor' : 'EvaluatorActor';
  const pipeline = startPipeline(graph, { bus, finishers: [finisher] });

  // Until the first optimizer step there is nothing to save: a signal stops at once. After it, the
  // first signal finishes the step and saves a checkpoint; a second one stops at once.
  let trainingStarted = false;
  const unsubscribe = bus.subscribe((e) => {
    if (e.type === 'train.step') trainingStarted = true;
  });
  let signalled: StopSignal | null = null;
  let stoppingNow = false;
  const stopNow = (sig: StopSignal): void => {
    stoppingNow = true;
    void inp.signals?.stopNow(sig, () => pipeline.kill());
  };
  const onSignal = (sig: StopSignal): void => {
    if (!trainingStarted || !c.do_train) {
      if (!signalled) out.write(`\n${sig} before the first training step: stopping now (nothing to save yet).\n`);
      signalled = sig;
      stopNow(sig);
      return;
    }
    if (signalled) {
      out.write(`\n${sig} again: stopping now.\n`);
      stopNow(sig);
      return;
    }
    signalled = sig;
    out.write(`\n${sig}: finishing the current step and saving a checkpoint (press Ctrl-C again to stop at once)…\n`);
    probeRanksOnStop();
    pipeline.control(finisher, 'stop');
  };
  inp.signals?.setHandler(onSignal);

  try {
    const results = await pipeline.done;
    const result = results.get(finisher) as TrainerResult | { eval_metrics: Record<string, number> };
    const trainer = c.do_train ? (result as TrainerResult) : null;
    if (inp.world.rank !== 0) {
      // Rank 0 writes the stats, results, plots and card; this rank only says it is done.
      out.write(`rank ${inp.world.rank} of ${inp.world.size}: ${trainer?.status ?? 'completed'} at step ${trainer?.global_step ?? 0}\n`);
      bus.emit('run.stop', { status: trainer?.status ?? 'completed', elapsed_s: (Date.now() - startedAt) / 1000 });
      const interrupted = trainer?.status === 'interrupted';
      return { status: interrupted ? 'interrupted' : 'completed', outputDir: c.output_dir, exitCode: interrupted ? (signalled === 'SIGTERM' ? 143 : 130) : 0 };
    }
    const written = await stats.write(c.output_dir, trainer ? { dataWaitMs: trainer.data_wait_ms, startupWaitMs: trainer.startup_wait_ms, setupMs: trainer.setup_ms, trainMs: trainer.train_ms } : null);
    const bad = written.bad_records;
    if (bad.count > 0 && bad.first.length > 0) {
      out.write(
        `warning: skipped ${bad.count} bad record${bad.count === 1 ? '' : 's'} (on_bad_record: skip); first: ${describeBadRecord(bad.first[0])} ` +
          `(the first ${bad.first.length} are listed in ${path.join(c.output_dir, 'pipeline_stats.json')})\n`,
      );
    }
    if (trainer?.status === 'interrupted') {
      out.write(
        `Stopped at step ${trainer.global_step}; checkpoint saved. Resume with the same command ` +
          `(ptflow resumes from the last checkpoint in ${c.output_dir}).\n`,
      );
      bus.emit('run.stop', { status: 'interrupted', elapsed_s: (Date.now() - startedAt) / 1000 });
      return { status: 'interrupted', outputDir: c.output_dir, exitCode: signalled === 'SIGTERM' ? 143 : 130 };
    }
    const evalMetrics = trainer ? trainer.eval_metrics : (result as { eval_metrics: Record<string, number> }).eval_metrics;
    // Training runs write their TensorBoard events as they log (TrainerActor); an evaluation alone logs once.
    const tbDir = tensorboardDir(c);
    if (!trainer && tbDir && evalMetrics) {
      const w = await EventFileWriter.open(tbDir);
      await w.addScalars(0, tensorboardScalars(evalOnlyEntry(evalMetrics as unknown as Record<string, number>)));
      await w.close();
    }
    await runCardActor({ config: c, trainer, evalMetrics });
    // The run's own cache was kept for a resume; a completed run needs it no more.
    if (inp.runCache) rmSync(inp.runCache.dir, { recursive: true, force: true });
    out.write(`Done. Outputs in ${c.output_dir}: ${listOutputs(c.output_dir)}\n`);
    // run.stop is the run's last event: a tap client may leave as soon as it sees it.
    bus.emit('run.stop', { status: 'completed', elapsed_s: (Date.now() - startedAt) / 1000 });
    return { status: 'completed', outputDir: c.output_dir, exitCode: 0 };
  } catch (e) {
    if (stoppingNow && signalled) {
      // Killed on purpose (a signal): not a failure; RunSignals exits with the signal's code.
      bus.emit('run.stop', { status: 'interrupted', elapsed_s: (Date.now() - startedAt) / 1000 });
      return { status: 'interrupted', outputDir: c.output_dir, exitCode: exitCodeOf(signalled) };
    }
    if (inp.world.rank === 0) await stats.write(c.output_dir, null).catch(() => undefined);
    bus.emit('log', { level: 'error', message: (e as Error).message }, { source: MAIN_SOURCE });
    bus.emit('run.stop', { status: 'failed', reason: (e as Error).message, elapsed_s: (Date.now() - startedAt) / 1000 });
    throw Object.assign(e as Error, { [LOGGED]: true });
  } finally {
    inp.signals?.setHandler(null);
    unsubscribe();
    detachProgress();
    stats.close();
  }
}

/**
 * PTFLOW_CACHE_READ=memory: load the whole cache into the collator (CacheShardActor → CollatorActor),
 * the in-memory path the offset reader is checked and benchmarked against. Map mode only.
 */
function cacheInMemory(c: TrainConfig): boolean {
  if (process.env.PTFLOW_CACHE_READ !== 'memory') return false;
  if (c.streaming) throw new PtflowError('PTFLOW_CACHE_READ=memory loads the cache for map mode: it does not go with streaming: true', 2);
  return true;
}

function cacheShardParams(c: TrainConfig, index: TokenCacheIndex, tokenizer: RunInputs['tokenizer']): CacheShardParams {
  return {
    dir: c.tokenized_path as string, train: index.splits.train?.parts ?? [], validation: index.splits.validation?.parts ?? [],
    do_train: c.do_train, packing: c.packing, cutoff_len: c.cutoff_len,
    bos_id: tokenizer.addBosToken && tokenizer.bosId !== undefined ? tokenizer.bosId : null,
  };
}

/**
 * A map-mode run (`streaming: false`) without tokenized_path trains from its own cache in
 * `<output_dir>/.ptflow-cache/`, so its memory does not grow with the corpus. It keeps every block in
 * the collator's memory instead (null here) with `pipeline:` steps (the cache builder runs none, and
 * steps are placed relative to the reader, tokenizer and collator) or with PTFLOW_CACHE_READ=memory.
 */
function runCacheBuild(c: TrainConfig, steps: readonly ResolvedStep[], trainSets: DatasetSpec[], evalSets: DatasetSpec[], tokenizerFingerprint: string, world: Launch): RunCacheBuild | null {
  if (c.streaming || steps.length > 0 || process.env.PTFLOW_CACHE_READ === 'memory') return null;
  const { preprocessing, fingerprint } = expectedPreprocessing(c, trainSets, evalSets, tokenizerFingerprint);
  return {
    dir: runCacheDir(c.output_dir, world), tokenizer_dir: c.model_name_or_path,
    workers: c.tokenizer_workers ?? Math.max(1, os.availableParallelism() - 1), // as TokenizerActor
    train: trainSets, eval: evalSets, preprocessing, fingerprint,
    max_samples: c.max_samples ?? null, mix_strategy: c.mix_strategy, interleave_probs: c.interleave_probs ?? null,
    val_size: c.val_size, seed: c.seed, do_train: c.do_train && trainSets.length > 0, on_bad_record: c.on_bad_record,
  };
}

/** Train from the cache's blocks read by offset (CacheBlockActor): the collator's settings plus the cache's parts (index null: CacheBlockActor builds the cache). */
function cacheBlockParams(c: TrainConfig, dir: string, index: TokenCacheIndex | null, tokenizer: RunInputs['tokenizer'], resumeCursor: DataCursor | null): CacheBlockParams {
  return {
    dir, fingerprint: index?.fingerprint ?? '',
    train_parts: index?.splits.train?.parts ?? [], validation_parts: index?.splits.validation?.parts ?? [],
    cutoff_len: c.cutoff_len, packing: c.packing, neat_packing: c.neat_packing, add_bos: tokenizer.addBosToken,
    bos_id: tokenizer.bosId ?? null, pad_id: tokenizer.padId ?? tokenizer.eosId, train_batch_size: c.per_device_train_batch_size,
    eval_batch_size: c.per_device_eval_batch_size, seed: c.data_seed ?? c.seed, disable_shuffling: c.disable_shuffling,
    train: c.do_train, resume_cursor: resumeCursor as unknown as CacheBlockParams['resume_cursor'],
    rank: 0, world_size: 1, streaming: c.streaming, buffer_size: c.buffer_size,
  };
}

function modelParams(c: TrainConfig) {
  return {
    model_name_or_path: c.model_name_or_path, train_from_scratch: c.train_from_scratch, finetuning_type: c.finetuning_type,
    freeze_trainable_layers: c.freeze_trainable_layers, freeze_trainable_modules: c.freeze_trainable_modules,
    lora_rank: c.lora_rank, lora_alpha: c.lora_alpha, lora_dropout: c.lora_dropout, lora_target: c.lora_target, seed: c.seed,
  };
}

function trainerParams(c: TrainConfig, resumeFrom: string | null) {
  return {
    ...modelParams(c),
    backend: c.backend, webgpu_allow_software: c.webgpu_allow_software, num_threads: c.num_threads ?? null, output_dir: c.output_dir, do_eval: c.do_eval,
    per_device_train_batch_size: c.per_device_train_batch_size, gradient_accumulation_steps: c.gradient_accumulation_steps,
    learning_rate: c.learning_rate, num_train_epochs: c.num_train_epochs, max_steps: c.max_steps,
    lr_scheduler_type: c.lr_scheduler_type, lr_scheduler_kwargs: c.lr_scheduler_kwargs ?? null, warmup_ratio: c.warmup_ratio,
    warmup_steps: c.warmup_steps, weight_decay: c.weight_decay, adam_beta1: c.adam_beta1, adam_beta2: c.adam_beta2,
    adam_epsilon: c.adam_epsilon, max_grad_norm: c.max_grad_norm, logging_steps: c.logging_steps, save_steps: c.save_steps,
    save_strategy: c.save_strategy, save_total_limit: c.save_total_limit ?? null, save_only_model: c.save_only_model,
    eval_steps: c.eval_steps ?? null, eval_strategy: c.eval_strategy, skip_nonfinite_steps: c.skip_nonfinite_steps,
    include_num_input_tokens_seen: c.include_num_input_tokens_seen, tokenizer_dir: c.model_name_or_path, resume_from: resumeFrom,
    tensorboard_dir: tensorboardDir(c),
    cutoff_len: c.cutoff_len, gradient_checkpointing: c.gradient_checkpointing ?? null,
    disable_gradient_checkpointing: c.disable_gradient_checkpointing,
  };
}

/**
 * `mkdir -p` one level at a time: Node's recursive mkdirSync never returns where mkdir fails with
 * ENOENT under an existing parent (e.g. /proc).
 */
function makeOutputDir(dir: string): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !existsSync(d); d = path.dirname(d)) {
    missing.unshift(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of missing) {
    try {
      mkdirSync(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(d).isDirectory()) continue; // made meanwhile
      throw new PtflowError(`cannot create output_dir ${dir}: ${(e as Error).message}`);
    }
  }
}

function listOutputs(dir: string): string {
  if (!existsSync(dir)) return '';
  return readdirSync(dir).filter((n) => !n.startsWith('.')).sort().join(', ');
}
