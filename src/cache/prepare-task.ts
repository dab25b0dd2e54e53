/**
 * Worker-pool task (piscina) of `ptflow prepare`: either tokenize one RawDocs batch (`kind: 'docs'`,
 * read by the main thread), or read and tokenize a whole unit of input on this thread (`kind: 'unit'`,
 * unit-read.ts), sending its batches back on the task's own MessagePort as they are ready:
 *
 *   worker → caller   { type: 'batch', batch: UnitBatch }  (payload transferred)  …  { type: 'end', end: UnitEnd }
 *   caller → worker   { type: 'ack' } per batch consumed;  { type: 'stop' } when no more is needed
 *
 * At most `window` batches are unacknowledged, so memory stays bounded whatever the unit's size.
 */
import type { MessagePort } from 'node:worker_threads';
import Piscina from 'piscina';
import { tokenizeBatch, type TokenizeMode } from '../data/tokenize-batch';
import { readUnit, type ReadUnit, type UnitBatch, type UnitEnd } from './unit-read';

export interface DocsTask {
  kind: 'docs';
  dir: string;
  payload: ArrayBuffer;
  mode: TokenizeMode;
}

export interface UnitTask {
  kind: 'unit';
  dir: string;
  unit: ReadUnit;
  limit: number | null;
  skip: boolean;
  docsPerBatch: number;
  window: number;
  port: MessagePort;
}

export type PrepareTask = DocsTask | UnitTask;

export interface DocsTaskResult {
  payload: ArrayBuffer;
  tokens: number;
  docs: number;
}

export type UnitMessage = { type: 'batch'; batch: UnitBatch } | { type: 'end'; end: UnitEnd };
export type UnitControl = { type: 'ack' } | { type: 'stop' };

export default async function task(t: PrepareTask): Promise<unknown> {
  if (t.kind === 'docs') {
    const r = tokenizeBatch(t.dir, t.payload, t.mode);
    const value: DocsTaskResult = { payload: r.payload, tokens: r.tokens, docs: r.docs };
    return Piscina.move({ [Piscina.transferableSymbol]: [r.payload], [Piscina.valueSymbol]: value } as never);
  }
  return runUnit(t);
}

async function runUnit(t: UnitTask): Promise<null> {
  const { port } = t;
  let sent = 0;
  let acked = 0;
  let stop = false;
  let wake: (() => void) | null = null;
  port.on('message', (m: UnitControl) => {
    if (m.type === 'ack') acked++;
    else stop = true;
    wake?.();
  });
  try {
    const end = await readUnit(t.unit, {
      tokenizerDir: t.dir, limit: t.limit, skip: t.skip, docsPerBatch: t.docsPerBatch,
      stopped: () => stop,
      send: async (batch) => {
        if (stop) return;
        port.postMessage({ type: 'batch', batch } satisfies UnitMessage, [batch.payload]);
        sent++;
        while (sent - acked >= t.window && !stop) await new Promise<void>((r) => (wake = r));
        wake = null;
      },
    });
    if (!stop) port.postMessage({ type: 'end', end } satisfies UnitMessage);
  } finally {
    port.close();
  }
  return null;
}
