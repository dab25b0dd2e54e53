/**
 * CollatorActor: TokenizedDocs → TrainBatch. Packs each split's token stream into blocks of exactly
 * `cutoff_len` (remainder carried across batches, only the final tail dropped; BOS written over each
 * block's first token when the tokenizer adds BOS — LLaMA-Factory's rule), or takes each document as
 * one row (`packing: false`: TokenizerActor already truncated it). Then it sends every evaluation batch, and serves training micro-batches epoch
 * after epoch, each epoch in a fresh seeded order (HF's RandomSampler; `disable_shuffling` keeps file
 * order). Every micro-batch carries the cursor of the next one, so a resumed run seeks straight there.
 * With `streaming: true` it packs and batches as documents arrive instead (src/data/stream/collator-stream.ts).
 */
import type { JsonValue } from '../schemas/ports';
import type { DataCursor, MapCursor, TrainBatchMeta } from '../schemas/train-batch-meta';
import { isStreamCursor, parseStreamCursor } from '../schemas/stream-cursor';
import { isCacheStreamCursor } from '../schemas/cache-cursor';
import { newStreamCollatorMemory, runStreamCollator, type StreamCollatorMemory } from '../src/data/stream/collator-stream';
import { decodeTokenizedDocs } from '../schemas/tokenized-docs';
import { encodeTrainBatch } from '../schemas/train-batch';
import { collate, emptyShareBatch, type Row } from '../src/data/collate';
import { blockBosId, type CollatorPackingParams } from '../src/data/collator-params';
import { evalRowsOf, sendEvalBatches } from '../src/data/eval-batches';
import { Packer, type PackerState } from '../src/data/packer';
import { throwIfArmed } from '../src/faults';
import { epochOrder, rankShare } from '../src/data/epoch-order';
import { PtflowError } from '../src/errors';
import { defineStage } from '../src/pipeline/stage';

export interface CollatorParams extends CollatorPackingParams {
  seed: number;
  disable_shuffling: boolean;
  resume_cursor: DataCursor | null;
  /** Pack and batch as documents arrive (`streaming: true`). */
  streaming?: boolean;
  /** Data-parallel training: this trainer's slice of each global micro-batch (src/data/epoch-order.ts rankShare). */
  rank?: number;
  world_size?: number;
}

/** Collects the rows of one split (packed blocks or truncated documents). */
class SplitRows {
  readonly rows: Row[] = [];
  tokens = 0;
  docs = 0;
  droppedTail = 0;
  private readonly packer: Packer | null;

  constructor(private readonly p: CollatorParams) {
    this.packer = p.packing
      ? new Packer(p.cutoff_len, { bosId: blockBosId(p), trackSegments: p.neat_packing })
      : null;
  }

  add(ids: Int32Array): void {
    this.docs++;
    this.tokens += ids.length;
    if (this.packer) for (const b of this.packer.push(ids)) this.rows.push(b);
    else this.rows.push({ inputIds: ids }); // already bos + text + eos, truncated (TokenizerActor)
  }

  finish(): void {
    if (this.packer) this.droppedTail = this.packer.flush();
  }

  /** Where this split stands, to roll a half-processed message back after a failure. */
  snapshot(): { rows: number; tokens: number; docs: number; packer: PackerState | null } {
    return { rows: this.rows.length, tokens: this.tokens, docs: this.docs, packer: this.packer?.state() ?? null };
  }

  restore(s: ReturnType<SplitRows['snapshot']>): void {
    this.rows.length = s.rows;
    this.tokens = s.tokens;
    this.docs = s.docs;
    if (this.packer && s.packer) this.packer.restore(s.packer);
  }
}

/**
 * What survives a restart of this actor inside its worker: the rows of every acknowledged message
 * (a half-processed message is rolled back and re-delivered) and the cursor after the last batch sent.
 */
interface CollatorMemory {
  train: SplitRows;
  evalRows: SplitRows;
  before: { train: ReturnType<SplitRows['snapshot']>; evalRows: ReturnType<SplitRows['snapshot']> } | null;
  inputDone: boolean;
  handled: number;
  nextToSend: MapCursor | null;
}

export { epochOrder };

export const stage = defineStage<CollatorParams>(async (ctx) => {
  const p = ctx.params;
  const input = ctx.input('tokens');
  if (p.streaming) {
    const rc = p.resume_cursor;
    if (rc !== null && !isStreamCursor(rc)) throw new PtflowError('the checkpoint was written by a run without streaming: resume it with streaming: false', 2);
    const sp = { ...p, resume: rc === null ? null : parseStreamCursor(rc, 'checkpoint ptflow_state.json cursor') };
    const streamMemory: StreamCollatorMemory = ctx.restartState('stream', () => newStreamCollatorMemory(sp));
    return runStreamCollator(input, ctx.output('eval'), p.train ? ctx.output('train') : null, sp, streamMemory, (n) => throwIfArmed(ctx.actor, n));
  }
  const mem: CollatorMemory = ctx.restartState('map', () => ({
    train: new SplitRows(p), evalRows: new SplitRows(p), before: null, inputDone: false, handled: 0, nextToSend: null,
  }));
  const { train, evalRows } = mem;
  if (mem.before) {
    // Restarted mid-message: undo its partial effect; the message itself is re-delivered.
    train.restore(mem.before.train);
    evalRows.restore(mem.before.evalRows);
    mem.before = null;
  }
  if (!mem.inputDone) {
    for await (const m of input) {
      mem.before = { train: train.snapshot(), evalRows: evalRows.snapshot() };
      mem.handled++;
      throwIfArmed(ctx.actor, mem.handled);
      const split = (m.meta as { split: 'train' | 'eval' }).split;
      const target = split === 'eval' ? evalRows : train;
      for (const ids of decodeTokenizedDocs(m.payload).inputIds) target.add(ids);
      mem.before = null;
    }
    train.finish();
    evalRows.finish();
    mem.inputDone = true;
  }
  if (p.train && train.rows.length === 0) {
    throw new PtflowError(
      `Cannot find sufficient samples, consider increasing dataset size. (${train.docs} documents, ${train.tokens} tokens: ` +
        `fewer than one block of cutoff_len ${p.cutoff_len})`,
      2, // the data's fault, like the readers' errors: a restart would read the same documents again
    );
  }
  if (ctx.attempt === 0) {
    ctx.emit('data.ready', {
      train_blocks: train.rows.length, eval_blocks: evalRows.rows.length, train_tokens: train.tokens, documents: train.docs + evalRows.docs,
    });
  }

  // Evaluation batches, in order (after a restart: those not sent yet).
  const evalOut = ctx.output('eval');
  await sendEvalBatches(evalOut, evalRowsOf(evalRows.rows), { batchSize: p.eval_batch_size, padId: p.pad_id, alreadySent: evalOut.stats.messages });
  evalOut.end();
  if (!p.train) return { eval_blocks: evalRows.rows.length };

  // Training micro-batches, epoch after epoch, until the trainer has enough (it stops the run).
  const out = ctx.output('train');
  const n = train.rows.length;
  if (p.resume_cursor !== null && (isStreamCursor(p.resume_cursor) || isCacheStreamCursor(p.resume_cursor))) {
    throw new PtflowError('the checkpoint was written by a streamed run: resume it with streaming: true', 2);
  }
  let cursor: MapCursor = mem.nextToSend ?? (p.resume_cursor as MapCursor | null) ?? { epoch: 0, micro: 0 };
  for (;;) {
    const order = epochOrder(n, cursor.epoch, p.seed, p.disable_shuffling);
    // A re-based resume shifts the grid of its first epoch (src/train/cursor-rebase.ts).
    const shift = cursor.shift ?? 0;
    const share = rankShare(n, p.train_batch_size, p.rank ?? 0, p.world_size ?? 1, shift);
    const microPerEpoch = share.microPerEpoch;
    for (let micro = cursor.micro; micro < microPerEpoch; micro++) {
      const rows: Row[] = [];
      const { start, end } = share.slice(micro);
      for (let j = start; j < end; j++) rows.push(train.rows[order[j]]);
      // A rank's slice of a short (first or last) micro-batch may be empty: it still sends one, to stay in step.
      const batch = rows.length > 0 ? collate(rows, p.pad_id) : emptyShareBatch(p.pad_id);
      const last = micro === microPerEpoch - 1;
      const next: MapCursor = last ? { epoch: cursor.epoch + 1, micro: 0 } : { epoch: cursor.epoch, micro: micro + 1, ...(shift ? { shift } : {}) };
      let tokens = 0;
      for (const v of batch.attentionMask) tokens += v;
      const meta: TrainBatchMeta = {
        epoch: cursor.epoch, micro, microPerEpoch, lastInEpoch: last, blocks: n, tokens, cursor: next,
      };
      await out.send(encodeTrainBatch(batch), meta as unknown as JsonValue);
      mem.nextToSend = next;
    }
    cursor = { epoch: cursor.epoch + 1, micro: 0 };
  }
});
