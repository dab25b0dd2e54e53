/**
 * Runs one pipeline step (an `ActorDefinition`) over edge messages: bytes in → the step's
 * `process` → bytes out, with the contract check on every output batch and the step's counters
 * (`seen`, `kept`, `dropped_<reason>`, and any the step counts itself). The same runner serves the
 * step's worker thread in `ptflow train` (actors/StepActor.ts) and the in-process pass of
 * `ptflow prepare`, so a step behaves the same in both.
 *
 * Fast paths: a filter (`defineFilter`) reads texts straight from the RawDocs bytes and passes the
 * input bytes on untouched when it keeps every document; a step that returns its input batch
 * unchanged passes the input bytes on too (no re-encoding).
 */
import type { RecordBatch } from 'apache-arrow';
import { decodeRawDocs, encodeRawDocs, type RawDoc } from '../../schemas/raw-docs';
import { PtflowError } from '../errors';
import { isFilterDefinition, type ActorContext, type ActorDefinition, type Json, type StepOutput } from './api';
import { batchFromIpc, batchToIpc, contractViolation, isRecordBatch } from './edges';
import type { ExclusionWriter } from './exclusions';

export interface StepRunnerOptions {
  /** How the step is named in errors: "pipeline step 'x' (cfg.yaml:12)". */
  where: string;
  actor: string;
  worker: number;
  workers: number;
  exclusions: ExclusionWriter | null;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  attempt(): number;
}

export type StepCounts = Record<string, number>;

const REASON = /^[A-Za-z0-9_.-]+$/;

export class StepRunner<O = unknown, S = unknown> {
  readonly counts: StepCounts = { seen: 0, kept: 0 };
  private state!: S;
  readonly ctx: ActorContext;

  constructor(
    readonly def: ActorDefinition<O, S>,
    readonly options: O,
    private readonly o: StepRunnerOptions,
  ) {
    const counts = this.counts;
    this.ctx = {
      actor: o.actor,
      get attempt() {
        return o.attempt();
      },
      worker: o.worker,
      workers: o.workers,
      count(key, n = 1) {
        counts[key] = (counts[key] ?? 0) + n;
      },
      drop: (reason, doc) => this.recordDrop(reason, doc),
      log: (level, message) => o.log(level, message),
    };
  }

  get stateful(): boolean {
    return this.def.snapshot !== undefined;
  }

  /** init (or restore from `snapshot`). */
  async start(snapshot?: Json): Promise<void> {
    if (snapshot !== undefined && this.def.restore) this.state = await this.call('restore', () => this.def.restore!(snapshot, this.options, this.ctx));
    else this.state = this.def.init ? await this.call('init', () => this.def.init!(this.options, this.ctx)) : (undefined as S);
  }

  snapshot(): Json | undefined {
    return this.def.snapshot ? this.def.snapshot(this.state) : undefined;
  }

  /** One input message → the output messages (the input buffer may be passed on as it is). */
  async process(payload: ArrayBuffer): Promise<ArrayBuffer[]> {
    if (isFilterDefinition(this.def)) return [this.filter(payload)];
    const batch = batchFromIpc(payload);
    this.counts.seen += batch.numRows;
    const out = await this.call('process', () => this.def.process(batch, this.state, this.ctx));
    return this.encode(out, 'process', batch, payload);
  }

  async flush(): Promise<ArrayBuffer[]> {
    if (!this.def.flush) return [];
    const out = await this.call('flush', () => this.def.flush!(this.state, this.ctx));
    return this.encode(out, 'flush', null, null);
  }

  private filter(payload: ArrayBuffer): ArrayBuffer {
    const keep = (this.def as unknown as { keepDoc: (t: string, d: { id: bigint; source: string; text: string }, s: S) => boolean | string }).keepDoc;
    const d = decodeRawDocs(payload);
    const n = d.texts.length;
    this.counts.seen += n;
    let kept: RawDoc[] | null = null;
    for (let i = 0; i < n; i++) {
      const doc = { id: d.docIds[i], source: d.sources[i], text: d.texts[i] };
      let verdict: boolean | string;
      try {
        verdict = keep(doc.text, doc, this.state);
      } catch (e) {
        throw this.wrap('keep', e);
      }
      if (verdict === true) {
        kept?.push({ docId: doc.id, source: doc.source, text: doc.text });
        continue;
      }
      if (verdict !== false && typeof verdict !== 'string') {
        throw new PtflowError(`${this.o.where}: keep returned ${JSON.stringify(verdict)} for document ${doc.id}; expected true, false or a reason string`, 2);
      }
      if (kept === null) kept = Array.from({ length: i }, (_, k) => ({ docId: d.docIds[k], source: d.sources[k], text: d.texts[k] }));
      this.recordDrop(verdict === false ? 'filtered' : verdict, doc);
    }
    if (kept === null) {
      this.counts.kept += n;
      return payload;
    }
    this.counts.kept += kept.length;
    return encodeRawDocs(kept);
  }

  private recordDrop(reason: string, doc: { id: number | bigint; source: string; text: string }): void {
    if (!REASON.test(reason)) throw new PtflowError(`${this.o.where}: drop reason ${JSON.stringify(reason)} must be a word (letters, digits, _ . -)`, 2);
    const key = `dropped_${reason}`;
    this.counts[key] = (this.counts[key] ?? 0) + 1;
    this.o.exclusions?.add({ id: String(doc.id), source: doc.source, text: doc.text, reason });
  }

  private encode(out: StepOutput, fn: string, input: RecordBatch | null, inputBytes: ArrayBuffer | null): ArrayBuffer[] {
    if (out === undefined || out === null) return [];
    const list = isRecordBatch(out) ? [out] : Array.isArray(out) ? (out as RecordBatch[]) : [out as never];
    const bytes: ArrayBuffer[] = [];
    for (const b of list) {
      if (b === input && inputBytes !== null && this.def.input === this.def.output) {
        this.counts.kept += b.numRows;
        bytes.push(inputBytes);
        continue;
      }
      const bad = contractViolation(b, this.def.output);
      if (bad !== null) throw new PtflowError(`${this.o.where}: ${fn} output does not match the ${this.def.output} edge: ${bad}`, 2);
      this.counts.kept += b.numRows;
      bytes.push(batchToIpc(b, this.def.output));
    }
    return bytes;
  }

  private async call<T>(fn: string, f: () => T | Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw this.wrap(fn, e);
    }
  }

  private wrap(fn: string, e: unknown): Error {
    if (e instanceof PtflowError) return e;
    const err = new Error(`${this.o.where}: ${fn} threw: ${(e as Error)?.message ?? String(e)}`);
    if (e instanceof Error && e.stack) err.stack = `${err.message}\n${e.stack.split('\n').slice(1).join('\n')}`;
    return err;
  }
}
