/**
 * `ptflow train`: LLaMA-Factory's `run_pt` as a pipeline run. Everything that can be checked before
 * threads start is checked here (config, datasets, tokenizer, model config, output directory), so a
 * mistake costs a second, not a tokenization pass. Then the default graph runs, and CardActor writes
 * the results, plots and model card from what the trainer reports.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { loadTrainConfig, type TrainConfig } from '../config';
import { PtflowError } from '../errors';
import { resolveDatasets, type DatasetSpec } from '../data/registry';
import { describeBadRecord } from '../data/readers/record-error';
import { loadTokenizer } from '../data/tokenizer';
import { readModelConfig } from '../train/model-setup';
import { checkBaseWeights } from '../train/weights-preflight';
import { TelemetryBus } from '../telemetry/bus';
import { attachProgress } from '../cli/progress';
import { StatsCollector } from '../pipeline/stats';
import { startPipeline } from '../pipeline/supervisor';
import { defaultGraph } from './default-graph';
import { decideResume } from './output-dir';
import { acquireRunLock } from './run-lock';
import { runCardActor } from '../../actors/CardActor';
import type { TrainerResult } from '../../actors/TrainerActor';
import type { CacheShardParams } from '../../actors/CacheShardActor';
import type { TokenCacheIndex } from '../../schemas/token-cache';
import { cacheForTrain } from './prepare';
import type { DataCursor } from '../../schemas/train-batch-meta';
import { parallelizable, refuseDocStepsWithCache, resolvePipeline, type ResolvedStep } from '../actors/resolve';
import { insertSteps } from '../pipeline/insert-steps';

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
  const out = opts.out ?? process.stderr;
  const { config: c, warnings, where } = loadTrainConfig(configPath, overrides);
  for (const w of warnings) out.write(`warning: ${w}\n`);
  const steps = resolvePipeline(c.pipeline, configPath, where);
  refuseDocStepsWithCache(steps, c.tokenized_path);

  // Fast checks before any thread starts.
  const trainSets: DatasetSpec[] = c.do_train ? resolveDatasets(c.dataset_dir, c.dataset ?? []) : [];
  const evalSets: DatasetSpec[] = c.eval_dataset && c.eval_dataset.length > 0 ? resolveDatasets(c.dataset_dir, c.eval_dataset) : [];
  if (!c.do_train && !c.do_eval) throw new PtflowError('nothing to do: set do_train and/or do_eval', 2);
  if (!c.do_train && evalSets.length === 0) throw new PtflowError('do_eval without do_train needs eval_dataset', 2);
  const modelConfig = await readModelConfig(c.model_name_or_path);
  if (!c.train_from_scratch) await checkBaseWeights(c.model_name_or_path, modelConfig);
  const tokenizer = await loadTokenizer(c.model_name_or_path);
  if (tokenizer.vocabSize > modelConfig.vocabSize) {
    throw new PtflowError(
      `${path.join(c.model_name_or_path, 'tokenizer.json')} has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${modelConfig.vocabSize}`,
      2,
    );
  }
  const resume = decideResume({
    outputDir: c.output_dir,
    doTrain: c.do_train,
    overwriteOutputDir: c.overwrite_output_dir,
    resumeFromCheckpoint: c.resume_from_checkpoint,
  });
  makeOutputDir(c.output_dir);
  const lock = acquireRunLock(c.output_dir);
  try {
    if (resume.note) out.write(resume.note + '\n');
    // tokenized_path: read the tokenized cache (built first when absent; a stale one is refused).
    const cache = c.tokenized_path ? await cacheForTrain(c, trainSets, evalSets, tokenizer, out, configPath) : null;
    return await runPipeline(c, { trainSets, evalSets, tokenizer, resumeFrom: resume.resumeFrom, out, opts, cache, steps });
  } finally {
    lock.release();
  }
}

interface RunInputs {
  trainSets: DatasetSpec[];
  evalSets: DatasetSpec[];
  tokenizer: Awaited<ReturnType<typeof loadTokenizer>>;
  resumeFrom: string | null;
  cache: TokenCacheIndex | null;
  /** `pipeline:` steps (with a cache: none on the docs edge, see refuseDocStepsWithCache). */
  steps: ResolvedStep[];
  out: NodeJS.WritableStream;
  opts: TrainRunOptions;
}

async function runPipeline(c: TrainConfig, inp: RunInputs): Promise<TrainRunResult> {
  const { tokenizer, out, opts } = inp;
  const bus = opts.bus ?? new TelemetryBus(randomUUID());
  const detachProgress = attachProgress(bus, { tty: opts.tty ?? Boolean((out as NodeJS.WriteStream).isTTY), out });
  const stats = new StatsCollector(bus);
  const startedAt = Date.now();
  bus.emit('run.start', { config: c as unknown as Record<string, unknown>, output_dir: c.output_dir });

  const resumeCursor = inp.resumeFrom ? await readResumeCursor(inp.resumeFrom) : null;
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
      train: c.do_train, resume_cursor: resumeCursor, streaming: c.streaming,
    },
    trainer: c.do_train ? trainerParams(c, inp.resumeFrom) : null,
    evaluator: c.do_train ? null : { ...modelParams(c), backend: c.backend, num_threads: c.num_threads ?? null },
    cache: inp.cache ? cacheShardParams(c, inp.cache, tokenizer) : null,
    prefetchBatches: c.prefetch_batches,
    prefetchBytes: c.prefetch_bytes,
  }), inp.steps);
  if (resumeCursor !== null) warnInexactResume(inp.steps, c.streaming, out);
  const finisher = c.do_train ? 'TrainerActor' : 'EvaluatorActor';
  const pipeline = startPipeline(graph, { bus, finishers: [finisher] });

  let signalled: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled) {
      out.write(`\n${sig} again: stopping now.\n`);
      void pipeline.kill().then(() => process.exit(sig === 'SIGINT' ? 130 : 143));
      return;
    }
    signalled = sig;
    out.write(`\n${sig}: finishing the current step and saving a checkpoint (press Ctrl-C again to stop at once)…\n`);
    pipeline.control(finisher, 'stop');
  };
  if (opts.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  try {
    const results = await pipeline.done;
    const result = results.get(finisher) as TrainerResult | { eval_metrics: Record<string, number> };
    const trainer = c.do_train ? (result as TrainerResult) : null;
    const written = await stats.write(c.output_dir, trainer ? { dataWaitMs: trainer.data_wait_ms, startupWaitMs: trainer.startup_wait_ms, trainMs: trainer.train_ms } : null);
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
    await runCardActor({ config: c, trainer, evalMetrics: trainer ? trainer.eval_metrics : (result as { eval_metrics: Record<string, number> }).eval_metrics });
    bus.emit('run.stop', { status: 'completed', elapsed_s: (Date.now() - startedAt) / 1000 });
    out.write(`Done. Outputs in ${c.output_dir}: ${listOutputs(c.output_dir)}\n`);
    return { status: 'completed', outputDir: c.output_dir, exitCode: 0 };
  } catch (e) {
    bus.emit('run.stop', { status: 'failed', reason: (e as Error).message, elapsed_s: (Date.now() - startedAt) / 1000 });
    await stats.write(c.output_dir, null).catch(() => undefined);
    throw e;
  } finally {
    if (opts.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    detachProgress();
    stats.close();
  }
}

function cacheShardParams(c: TrainConfig, index: TokenCacheIndex, tokenizer: RunInputs['tokenizer']): CacheShardParams {
  return {
    dir: c.tokenized_path as string, train: index.splits.train?.parts ?? [], validation: index.splits.validation?.parts ?? [],
    do_train: c.do_train, packing: c.packing, cutoff_len: c.cutoff_len,
    bos_id: tokenizer.addBosToken && tokenizer.bosId !== undefined ? tokenizer.bosId : null,
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
    backend: c.backend, num_threads: c.num_threads ?? null, output_dir: c.output_dir, do_eval: c.do_eval,
    per_device_train_batch_size: c.per_device_train_batch_size, gradient_accumulation_steps: c.gradient_accumulation_steps,
    learning_rate: c.learning_rate, num_train_epochs: c.num_train_epochs, max_steps: c.max_steps,
    lr_scheduler_type: c.lr_scheduler_type, lr_scheduler_kwargs: c.lr_scheduler_kwargs ?? null, warmup_ratio: c.warmup_ratio,
    warmup_steps: c.warmup_steps, weight_decay: c.weight_decay, adam_beta1: c.adam_beta1, adam_beta2: c.adam_beta2,
    adam_epsilon: c.adam_epsilon, max_grad_norm: c.max_grad_norm, logging_steps: c.logging_steps, save_steps: c.save_steps,
    save_strategy: c.save_strategy, save_total_limit: c.save_total_limit ?? null, save_only_model: c.save_only_model,
    eval_steps: c.eval_steps ?? null, eval_strategy: c.eval_strategy, skip_nonfinite_steps: c.skip_nonfinite_steps,
    include_num_input_tokens_seen: c.include_num_input_tokens_seen, tokenizer_dir: c.model_name_or_path, resume_from: resumeFrom,
  };
}

async function readResumeCursor(dir: string): Promise<DataCursor | null> {
  const { loadCheckpoint } = await import('../train/checkpoint');
  const ck = await loadCheckpoint(dir);
  return ck.progress.cursor as DataCursor | null;
}

/**
 * A map-style run re-reads every document on resume, so a deterministic step is in the same state at
 * the cursor. A streamed run seeks past documents: a step that keeps state across batches starts
 * empty there (snapshot/restore of step state is not stored in checkpoints yet). Said once.
 */
function warnInexactResume(steps: readonly ResolvedStep[], streaming: boolean, out: NodeJS.WritableStream): void {
  if (!streaming) return;
  const stateful = steps.filter((s) => !parallelizable(s.def));
  if (stateful.length === 0) return;
  out.write(
    `warning: resuming a streamed run with stateful pipeline step${stateful.length > 1 ? 's' : ''} ${stateful.map((s) => `'${s.name}'`).join(', ')}: ` +
      'they restart empty at the checkpoint, so the token stream is not guaranteed to match an uninterrupted run.\n',
  );
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
