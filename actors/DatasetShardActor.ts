/**
 * DatasetShardActor: reads the datasets named in the config (dataset_info.json entries resolved on the
 * main thread), applies `max_samples` / `num_samples`, mixes several datasets (`mix_strategy`), splits
 * off the validation documents (`val_size`) or reads `eval_dataset`, and emits RawDocs batches:
 * evaluation documents first, then training documents, each batch tagged with its split.
 * With `streaming: true` it reads lazily through a shuffle buffer instead (src/data/stream/shard-stream.ts).
 * With `on_bad_record: skip`, a bad record is skipped and reported as a `data.bad_record` event (each
 * record once, however often it is read); the main thread counts them and prints the summary.
 */
import type { JsonValue } from '../schemas/ports';
import { DOCS_PER_BATCH, encodeRawDocs } from '../schemas/raw-docs';
import type { DatasetSpec } from '../src/data/registry';
import { collectDocs, describeBadRecord, type BadRecordHandler, type Doc } from '../src/data/readers';
import { BadRecordLog } from '../src/data/bad-record-log';
import { mixDatasets, type MixStrategy } from '../src/data/mix';
import { sampleDocs, takeFirst, trainTestSplit } from '../src/data/split';
import { Rng } from '../src/data/rng';
import { PtflowError } from '../src/errors';
import { defineStage, type StageContext } from '../src/pipeline/stage';
import { throwIfArmed } from '../src/faults';
import { newShardMemory, runStreamShard, type ShardMemory } from '../src/data/stream/shard-stream';
import { isStreamCursor, parseStreamCursor } from '../schemas/stream-cursor';
import type { DataCursor } from '../schemas/train-batch-meta';
import type { DocsMeta } from '../schemas/docs-meta';

export interface ShardParams {
  train: DatasetSpec[];
  eval: DatasetSpec[];
  max_samples: number | null;
  mix_strategy: MixStrategy;
  interleave_probs: number[] | null;
  val_size: number;
  seed: number;
  do_train: boolean;
  /** Documents per RawDocs message. */
  docs_per_batch?: number;
  /** Read as a stream through a shuffle buffer of `buffer_size` documents (needs max_steps). */
  streaming?: boolean;
  buffer_size?: number;
  /** Cursor of the checkpoint resumed from (streaming uses it to seek). */
  resume_cursor?: DataCursor | null;
  /** 'skip': skip bad records (reported as data.bad_record events); 'error' (default): the first one stops the run. */
  on_bad_record?: 'error' | 'skip';
}


async function loadMerged(specs: DatasetSpec[], p: ShardParams, onBadRecord: BadRecordHandler | undefined): Promise<Doc[]> {
  const lists: Doc[][] = [];
  for (const spec of specs) {
    let docs = await collectDocs(spec, p.max_samples ?? undefined, { onBadRecord });
    if (spec.numSamples !== undefined) docs = sampleDocs(docs, spec.numSamples, new Rng(p.seed), spec.name);
    lists.push(takeFirst(docs, p.max_samples ?? undefined));
  }
  return mixDatasets(lists, {
    strategy: p.mix_strategy,
    probs: p.interleave_probs ?? undefined,
    seed: p.seed,
    names: specs.map((s) => s.name),
  });
}

/** Streaming progress that survives a restart of this actor inside its worker. */
let streamMemory: ShardMemory | null = null;
/** Bad records already reported (a restart reads them again). */
let badRecords: BadRecordLog | null = null;

export const stage = defineStage<ShardParams>(async (ctx) => {
  const p = ctx.params;
  if (ctx.attempt === 0 || badRecords === null) badRecords = new BadRecordLog();
  const log = badRecords;
  const onBadRecord: BadRecordHandler | undefined =
    p.on_bad_record === 'skip' ? (problem) => void (log.add(problem) && ctx.emit('data.bad_record', problem)) : undefined;
  try {
    return await run(ctx, p, onBadRecord);
  } catch (e) {
    // e.g. "no documents to train on" because every record was bad: say so
    if (e instanceof PtflowError && log.count > 0 && log.first) {
      throw new PtflowError(`${e.message} (${log.count} bad record${log.count === 1 ? '' : 's'} skipped; first: ${describeBadRecord(log.first)})`, e.exitCode);
    }
    throw e;
  }
});

async function run(ctx: StageContext<ShardParams>, p: ShardParams, onBadRecord: BadRecordHandler | undefined): Promise<JsonValue> {
  const out = ctx.output('docs');
  const perBatch = p.docs_per_batch ?? DOCS_PER_BATCH;
  if (p.streaming) {
    const rc = p.resume_cursor ?? null;
    const resume = rc !== null && isStreamCursor(rc) ? parseStreamCursor(rc, 'checkpoint ptflow_state.json cursor').shard : null;
    if (rc !== null && !resume) throw new PtflowError('the checkpoint was written by a run without streaming: resume it with streaming: false', 2);
    // Sends training documents until the trainer ends the run; returns only for an eval-only run.
    // After a restart it continues after the last batch sent (streamMemory).
    if (ctx.attempt === 0 || streamMemory === null) streamMemory = newShardMemory();
    const r = await runStreamShard(out, {
      train: p.train, eval: p.eval, mix_strategy: p.mix_strategy, interleave_probs: p.interleave_probs, val_size: p.val_size,
      seed: p.seed, buffer_size: p.buffer_size ?? 16384, do_train: p.do_train, docs_per_batch: perBatch, resume, onBadRecord,
    }, undefined, streamMemory, (n) => throwIfArmed(ctx.actor, n));
    out.end(r);
    return r;
  }

  let trainDocs: Doc[] = p.do_train ? await loadMerged(p.train, p, onBadRecord) : [];
  let evalDocs: Doc[] = [];
  if (p.eval.length > 0) evalDocs = await loadMerged(p.eval, p, onBadRecord);
  else if (p.val_size > 0 && p.do_train) {
    const s = trainTestSplit(trainDocs, p.val_size, p.seed);
    trainDocs = s.train;
    evalDocs = s.test;
  }
  if (p.do_train && trainDocs.length === 0) {
    throw new PtflowError(`dataset ${p.train.map((s) => s.name).join(',')}: no documents to train on (${p.train.flatMap((s) => s.files).join(', ')})`, 2);
  }

  // After a restart, the batches already sent were delivered: continue after them (same order: the
  // reading, mixing and splitting above are deterministic).
  let alreadySent = out.stats.messages;
  const send = async (split: DocsMeta['split'], docs: Doc[]): Promise<void> => {
    for (let first = 0; first < docs.length; first += perBatch) {
      if (alreadySent > 0) {
        alreadySent--;
        continue;
      }
      throwIfArmed(ctx.actor, out.stats.messages + 1);
      const chunk = docs.slice(first, first + perBatch);
      const meta: DocsMeta = { split, first, count: chunk.length };
      await out.send(encodeRawDocs(chunk.map((d, i) => ({ docId: first + i, source: d.loc.file, text: d.text }))), meta as unknown as JsonValue);
    }
  };
  await send('eval', evalDocs);
  await send('train', trainDocs);
  out.end({ train_docs: trainDocs.length, eval_docs: evalDocs.length });
  return { train_docs: trainDocs.length, eval_docs: evalDocs.length };
}
