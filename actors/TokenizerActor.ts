/**
 * TokenizerActor: RawDocs → TokenizedDocs. With one tokenizer thread it tokenizes in its own worker;
 * with more it fans batches out to a worker pool (piscina) and re-emits results in input order, so the
 * token stream is the same whatever the pool size. An input batch is acknowledged only once its
 * result is sent, so a restart after a failure re-tokenizes exactly the batches not yet delivered.
 */
import os from 'node:os';
import Piscina from 'piscina';
import type { JsonValue } from '../schemas/ports';
import { compiledModule } from '../src/pipeline/compiled';
import { defineStage } from '../src/pipeline/stage';
import { tokenizeBatch, tokenizerFor } from '../src/data/tokenize-batch';
import type { TokenizeTaskResult } from '../src/data/tokenize-task';
import { throwIfArmed } from '../src/faults';
import { FirstEpochFloor } from '../src/data/stream/first-epoch-floor';

export interface TokenizerParams {
  tokenizer_dir: string;
  /** Pool threads; null = cores − 1 (at least 1). */
  workers: number | null;
  packing: boolean;
  cutoff_len: number;
}

type Result = TokenizeTaskResult;

export const stage = defineStage<TokenizerParams>(async (ctx) => {
  const p = ctx.params;
  const input = ctx.input('docs');
  const out = ctx.output('tokens');
  const workers = p.workers ?? Math.max(1, os.availableParallelism() - 1);
  tokenizerFor(p.tokenizer_dir); // load (and fail) early, on this thread
  const mode = { packing: p.packing, cutoffLen: p.cutoff_len };
  let tokens = 0;
  let docs = 0;
  let handled = 0;
  const floor = new FirstEpochFloor(p.cutoff_len, p.packing);
  const checkFault = (): void => {
    handled++;
    throwIfArmed(ctx.actor, handled);
  };

  if (workers <= 1) {
    for await (const m of input) {
      checkFault();
      const r = tokenizeBatch(p.tokenizer_dir, m.payload, mode);
      floor.see(m.meta, r.tokens, r.docs);
      tokens += r.tokens;
      docs += r.docs;
      await out.send(r.payload, m.meta);
    }
  } else {
    const pool = new Piscina({ filename: compiledModule('src/data/tokenize-task'), maxThreads: workers, minThreads: workers });
    const inFlight: { promise: Promise<Result>; meta: JsonValue; seq: number }[] = [];
    const drainOne = async (): Promise<void> => {
      const head = inFlight.shift()!;
      const r = await head.promise;
      floor.see(head.meta, r.tokens, r.docs);
      tokens += r.tokens;
      docs += r.docs;
      await out.send(r.payload, head.meta);
      input.ack(head.seq);
    };
    input.manualAck = true;
    try {
      for await (const m of input) {
        checkFault();
        // The pool gets a copy: the original stays intact until acknowledged (a restart re-reads it).
        const copy = m.payload.slice(0);
        const promise = pool.run({ dir: p.tokenizer_dir, payload: copy, mode }, { transferList: [copy] }) as Promise<Result>;
        promise.catch(() => undefined); // awaited in order below; after a failure the pool is destroyed under it
        inFlight.push({
          promise,
          meta: m.meta,
          seq: m.seq,
        });
        if (inFlight.length >= workers * 2) await drainOne();
      }
      while (inFlight.length > 0) await drainOne();
    } finally {
      await pool.destroy();
    }
  }
  out.end();
  return { docs, tokens };
});
