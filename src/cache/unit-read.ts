/**
 * Reads and tokenizes one unit of a dataset's input on the calling thread (a pool worker of
 * `ptflow prepare`), so that reading, decompressing and parsing scale with the pool as tokenizing does.
 * A unit is a whole file (its format's reader, exactly as `readDataset`), or a byte range of a plain
 * line-based file: the records that start in `[start, end)`, where both ends are line starts
 * (`recordsFrom`, the same line semantics as the readers).
 *
 *   readUnit(unit, opts) → UnitEnd     tokenized batches go to `opts.send` as they are ready
 *
 * Documents are `text + eos` (as `tokenizeBatch` in packing mode); doc ids in a batch count from the
 * unit's first document. Bad records are never thrown here: each goes with the batch read after it,
 * with `before` = how many documents of the unit came before it, so the caller can tell whether the
 * single-threaded path would have reached it (max_samples) and report it once, or throw it
 * (on_bad_record: error; reading stops at the first). Line numbers of records in a range that starts
 * mid-file are counted from the file's start.
 */
import * as fs from 'node:fs';
import { encodeTokenizedDocs } from '../../schemas/tokenized-docs';
import { PtflowError } from '../errors';
import type { DatasetFormat } from '../data/registry';
import { readerFor, type BadRecord } from '../data/readers';
import { badRecord } from '../data/readers/record-error';
import { recordsFrom } from '../data/stream/file-records';
import { tokenizerFor } from '../data/tokenize-batch';

export interface ReadUnit {
  file: string;
  format: DatasetFormat;
  textColumn: string;
  /** Plain jsonl / txt files only: the records starting in these bytes (line starts). */
  range?: { start: number; end: number };
}

export interface UnitBad {
  problem: BadRecord;
  /** Documents of the unit read before it. */
  before: number;
}

/** The error that ended the unit (on_bad_record: error, or the operating system's). */
export interface UnitFailure {
  message: string;
  /** A PtflowError's exit code; null for other errors. */
  exitCode: number | null;
  before: number;
}

export interface UnitBatch {
  /** TokenizedDocs; doc ids count from the unit's first document. */
  payload: ArrayBuffer;
  first: number;
  bad: UnitBad[];
}

export interface UnitEnd {
  docs: number;
  bad: UnitBad[];
  failure: UnitFailure | null;
}

export interface UnitOptions {
  tokenizerDir: string;
  /** Read at most this many documents (max_samples). */
  limit: number | null;
  /** on_bad_record: skip (else the first bad record ends the unit as its failure). */
  skip: boolean;
  docsPerBatch: number;
  send: (batch: UnitBatch) => Promise<void>;
  /** True when the caller needs no more documents of this unit. */
  stopped: () => boolean;
}

/** Thrown from the bad-record handler to end a range at its first bad record (on_bad_record: error). */
class StopAtBad extends Error {}

export async function readUnit(unit: ReadUnit, o: UnitOptions): Promise<UnitEnd> {
  const tok = tokenizerFor(o.tokenizerDir);
  const lines = unit.range && unit.range.start > 0 ? new LineCounter(unit.file, unit.format === 'txt' ? 'universal' : 'lf') : null;
  let n = 0;
  let texts: string[] = [];
  let bad: UnitBad[] = [];
  let failure: UnitFailure | null = null;
  const fixLines = async (list: UnitBad[]): Promise<void> => {
    if (!lines) return;
    for (const b of list) {
      if (b.problem.line === undefined && b.problem.byte !== undefined) b.problem = badRecord({ ...b.problem, line: await lines.lineAt(b.problem.byte) }, b.problem.reason);
    }
  };
  const flush = async (): Promise<void> => {
    const ids = texts.map((t) => tok.encodeDoc(t));
    const first = n - ids.length;
    const payload = encodeTokenizedDocs(BigInt64Array.from(ids, (_, i) => BigInt(first + i)), ids);
    await fixLines(bad);
    const batch: UnitBatch = { payload, first, bad };
    texts = [];
    bad = [];
    await o.send(batch);
  };
  const onBad = (problem: BadRecord): void => {
    if (unit.range && problem.byte !== undefined && problem.byte >= unit.range.end) return; // the next range's
    bad.push({ problem, before: n });
    if (!o.skip && unit.range) throw new StopAtBad();
  };
  try {
    for await (const text of docsOf(unit, o.skip || unit.range ? onBad : undefined)) {
      texts.push(text);
      n++;
      if (texts.length >= o.docsPerBatch) await flush();
      if ((o.limit !== null && n >= o.limit) || o.stopped()) break;
    }
  } catch (e) {
    if (e instanceof StopAtBad) {
      const b = bad.pop()!;
      await fixLines([b]);
      const where = b.problem.line !== undefined ? `${b.problem.file}:${b.problem.line}` : b.problem.file;
      failure = { message: `${where}: ${b.problem.reason}`, exitCode: 2, before: b.before };
    } else {
      // as readDataset's readers: a PtflowError of a reader is a usage error (exit 2)
      failure = { message: (e as Error).message, exitCode: e instanceof PtflowError ? 2 : null, before: n };
    }
  }
  if (texts.length > 0 && !o.stopped()) await flush();
  await fixLines(bad);
  return { docs: n, bad, failure };
}

async function* docsOf(unit: ReadUnit, onBad: ((p: BadRecord) => void) | undefined): AsyncGenerator<string, void, undefined> {
  if (!unit.range) {
    for await (const d of readerFor(unit.format, unit.file)(unit.file, { textColumn: unit.textColumn, onBadRecord: onBad })) yield d.text;
    return;
  }
  const { start, end } = unit.range;
  for await (const r of recordsFrom({ file: unit.file, format: unit.format, textColumn: unit.textColumn }, start, { bytes: 0 }, undefined, onBad)) {
    if (r.pos >= end) return;
    yield r.text;
  }
}

/**
 * Line numbers of line starts, counted from the file's start (increasing byte offsets only): "\n" ends
 * a line ('lf'); "\n", "\r\n" or "\r" ('universal'), as the readers count them.
 */
export class LineCounter {
  private pos = 0;
  private lines = 0;
  private prevCr = false;

  constructor(
    private readonly file: string,
    private readonly mode: 'lf' | 'universal',
  ) {}

  /** The 1-based line number of the line starting at `byte`. */
  async lineAt(byte: number): Promise<number> {
    if (byte < this.pos) throw new Error(`internal: line of byte ${byte} asked after byte ${this.pos}`);
    const fh = await fs.promises.open(this.file, 'r');
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      while (this.pos < byte) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, byte - this.pos), this.pos);
        if (bytesRead === 0) break;
        for (let i = 0; i < bytesRead; i++) {
          const b = buf[i];
          if (b === 0x0a) {
            if (!(this.mode === 'universal' && this.prevCr)) this.lines++;
            this.prevCr = false;
          } else if (b === 0x0d) {
            if (this.mode === 'universal') this.lines++;
            this.prevCr = true;
          } else this.prevCr = false;
        }
        this.pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
    return this.lines + 1;
  }
}
