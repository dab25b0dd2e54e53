/**
 * Tokenizes batches of documents for the cache exactly as `ptflow train` does (`tokenizeBatch`:
 * text + eos, no other special tokens), inline or on a piscina worker pool, and hands the results
 * back in submission order whatever the pool size.
 *
 *   const t = new OrderedTokenizer(dir, workers);  t.warmUp();   // pool threads load the tokenizer now
 *   t.onBatch((ids, docIds) => …);
 *   await t.push(texts, docIds);  …  await t.finish();   // always: await t.close()
 *
 * With a pool, `startUnit` has a worker read and tokenize a unit of input itself (unit-stream.ts).
 */
import { MessageChannel } from 'node:worker_threads';
import Piscina from 'piscina';
import { encodeRawDocs } from '../../schemas/raw-docs';
import { decodeTokenizedDocs } from '../../schemas/tokenized-docs';
import { PtflowError } from '../errors';
import { compiledModule } from '../pipeline/compiled';
import { tokenizerFor, type TokenizeMode } from '../data/tokenize-batch';
import type { DocsTaskResult, UnitTask } from './prepare-task';
import { UnitStream } from './unit-stream';

/** Receives each batch's token ids and the document ids it was given (the arrays may be views on one buffer: copy what is kept). */
export type BatchSink = (ids: Int32Array[], docIds: BigInt64Array) => void | Promise<void>;

type PoolResult = DocsTaskResult;

/** Documents as in `packing: true`: `encodeDoc` (text + eos), never truncated. */
const MODE: TokenizeMode = { packing: true, cutoffLen: 1 };

/** A UTF-16 surrogate not part of a pair (what TextEncoder writes as U+FFFD). */
const LONE_SURROGATE = /\p{Cs}/gu;

export class OrderedTokenizer {
  private readonly pool: Piscina | null;
  private readonly inFlight: Promise<PoolResult>[] = [];
  private readonly maxInFlight: number;
  private readonly workers: number;
  private sink: BatchSink = () => {
    throw new Error('OrderedTokenizer: onBatch was not called');
  };
  private warming: Promise<unknown> | null = null;
  private readonly units = new Set<UnitStream>();

  constructor(
    private readonly dir: string,
    workers: number,
  ) {
    this.workers = workers;
    if (workers <= 1) tokenizerFor(dir); // load (and fail) early; a pool loads one per worker thread instead
    this.pool = workers > 1 ? new Piscina({ filename: compiledModule('src/cache/prepare-task'), minThreads: workers, maxThreads: workers }) : null;
    this.maxInFlight = Math.max(1, workers * 2);
  }

  /** Where results go, in submission order. */
  onBatch(sink: BatchSink): void {
    this.sink = sink;
  }

  /** Have every pool thread load its tokenizer now (one empty batch each), without waiting. */
  warmUp(): void {
    if (!this.pool || this.warming) return;
    const tasks: Promise<unknown>[] = [];
    for (let i = 0; i < this.workers; i++) {
      const payload = encodeRawDocs([]);
      tasks.push(this.pool.run({ kind: 'docs', dir: this.dir, payload, mode: MODE }, { transferList: [payload] }));
    }
    // Failures surface again (with the message) on the first real batch.
    this.warming = Promise.allSettled(tasks);
  }

  async push(texts: readonly string[], docIds: readonly number[]): Promise<void> {
    if (!this.pool) {
      // Inline: tokenizeBatch's ids without the RawDocs / TokenizedDocs round trip (three copies of
      // every document fewer to collect). The UTF-8 round trip's one effect is kept: a lone surrogate
      // (JSON "\ud800") becomes U+FFFD, as in TokenizerActor's messages.
      const tok = tokenizerFor(this.dir);
      await this.sink(texts.map((t) => tok.encodeDoc(t.replace(LONE_SURROGATE, '\uFFFD'))), BigInt64Array.from(docIds, (d) => BigInt(d)));
      return;
    }
    const payload = encodeRawDocs(texts.map((text, i) => ({ docId: docIds[i], source: '', text })));
    this.inFlight.push(this.pool.run({ kind: 'docs', dir: this.dir, payload, mode: MODE }, { transferList: [payload] }) as Promise<PoolResult>);
    while (this.inFlight.length >= this.maxInFlight) await this.drainOne();
  }

  /** Pool threads (0: tokenizing inline). */
  get poolSize(): number {
    return this.pool ? this.workers : 0;
  }

  /** Have a pool thread read and tokenize a unit (pool only); its batches come back on the stream. */
  startUnit(task: Omit<UnitTask, 'kind' | 'dir' | 'port'>): UnitStream {
    if (!this.pool) throw new Error('internal: startUnit needs a worker pool');
    const channel = new MessageChannel();
    const run: UnitTask = { ...task, kind: 'unit', dir: this.dir, port: channel.port2 };
    const done = this.pool.run(run, { transferList: [channel.port2] as never });
    const stream = new UnitStream(channel.port1, done, this.dir);
    this.units.add(stream);
    void stream.closed.then(() => this.units.delete(stream));
    return stream;
  }

  async finish(): Promise<void> {
    while (this.inFlight.length > 0) await this.drainOne();
  }

  async close(): Promise<void> {
    // Let pending tasks settle before the pool goes, so none rejects unobserved.
    for (const u of this.units) u.stop();
    await Promise.allSettled([...this.inFlight.splice(0), this.warming, ...[...this.units].map((u) => u.closed)]);
    await this.pool?.destroy();
  }

  private async drainOne(): Promise<void> {
    let r: PoolResult;
    try {
      r = await this.inFlight.shift()!;
    } catch (e) {
      // Errors cross the thread boundary as plain Errors: keep the message, make it a PtflowError.
      throw new PtflowError(`tokenizing with ${this.dir}: ${(e as Error).message}`);
    }
    await this.deliver(r.payload);
  }

  private async deliver(payload: ArrayBuffer): Promise<void> {
    const batch = decodeTokenizedDocs(payload);
    await this.sink(batch.inputIds, batch.docIds);
  }
}
