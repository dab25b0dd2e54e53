/**
 * Reads and tokenizes a dataset unit by unit on the worker pool (units.ts, unit-read.ts), and hands
 * the documents on in read order — exactly what reading the dataset on this thread gives: the same
 * documents, up to max_samples, the bad records it would reach reported once each (on_bad_record:
 * skip), or the first one thrown (error). A few units run ahead of the one being consumed; when the
 * limit is reached, the rest are stopped.
 *
 *   readUnits(tokenizer, units, opts) → documents handed on
 */
import { decodeTokenizedDocs } from '../../schemas/tokenized-docs';
import { PtflowError } from '../errors';
import type { BadRecordHandler } from '../data/readers';
import type { OrderedTokenizer } from './doc-tokenizer';
import type { ReadUnit, UnitBad } from './unit-read';
import type { UnitStream } from './unit-stream';

export interface ReadUnitsOptions {
  /** Documents wanted at most (max_samples); null: all. */
  limit: number | null;
  onBadRecord?: BadRecordHandler;
  docsPerBatch: number;
  /** Receives each batch's token ids, with `first` = the dataset-relative index of its first document. */
  sink: (ids: Int32Array[], first: number) => Promise<void>;
}

/**
 * Unacknowledged batches per unit. Units are consumed in order, so a unit running ahead must be able to
 * get well into its work before the one in front finishes, or the pool degenerates to one busy thread;
 * 64 batches (~40 MB of token ids at 256 documents of ~600 tokens) per unit keeps memory bounded and
 * independent of the corpus size.
 */
const WINDOW = 64;

export async function readUnits(tokenizer: OrderedTokenizer, units: readonly ReadUnit[], o: ReadUnitsOptions): Promise<number> {
  const ahead = tokenizer.poolSize + 1;
  const streams: UnitStream[] = [];
  let started = 0;
  const startNext = (): void => {
    const unit = units[started++];
    streams.push(tokenizer.startUnit({ unit, limit: o.limit, skip: o.onBadRecord !== undefined, docsPerBatch: o.docsPerBatch, window: WINDOW }));
  };
  let taken = 0;
  try {
    while (started < Math.min(ahead, units.length)) startNext();
    for (let u = 0; u < units.length; u++) {
      const stream = streams[u];
      let unitTaken = 0; // documents of this unit handed on
      let exhausted = false;
      /** Would reading this unit on this thread have reached a record read after `before` of its documents? */
      const reached = (before: number): boolean => !exhausted || before < unitTaken;
      const report = (bad: readonly UnitBad[]): void => {
        for (const b of bad) if (reached(b.before)) o.onBadRecord?.(b.problem);
      };
      for (;;) {
        const m = await stream.next();
        if (m.type === 'end') {
          report(m.end.bad);
          const f = m.end.failure;
          if (f && reached(f.before)) throw f.exitCode === null ? new Error(f.message) : new PtflowError(f.message, f.exitCode);
          break;
        }
        const { batch } = m;
        const ids = decodeTokenizedDocs(batch.payload).inputIds;
        const take = o.limit === null ? ids.length : Math.min(ids.length, o.limit - taken);
        if (take > 0) await o.sink(take === ids.length ? ids : ids.slice(0, take), taken);
        taken += take;
        unitTaken += take;
        if (o.limit !== null && taken >= o.limit) exhausted = true;
        report(batch.bad);
        if (exhausted) break;
        stream.ack();
      }
      stream.stop();
      if (exhausted) break;
      if (started < units.length) startNext();
    }
  } finally {
    for (const s of streams) s.stop();
  }
  return taken;
}
