/**
 * Splits a dataset's input into units a pool worker reads and tokenizes on its own (unit-read.ts):
 * one unit per file when the dataset has several files; byte ranges cut at line starts ("\n") for a
 * single plain (uncompressed) jsonl / txt file; otherwise none (the main thread reads the file).
 *
 *   unitsOf(spec, workers, minRangeBytes?) → ReadUnit[] | null
 */
import * as fs from 'node:fs';
import type { DatasetSpec } from '../data/registry';
import { compressionOf } from '../data/readers/compression';
import type { ReadUnit } from './unit-read';

/** Ranges per pool thread (a little slack so the threads finish together). */
const RANGES_PER_WORKER = 4;
const DEFAULT_MIN_RANGE = 1 << 20;

export async function unitsOf(
  spec: Pick<DatasetSpec, 'files' | 'format' | 'textColumn'>,
  workers: number,
  minRangeBytes = DEFAULT_MIN_RANGE,
): Promise<ReadUnit[] | null> {
  const unit = (file: string): ReadUnit => ({ file, format: spec.format, textColumn: spec.textColumn });
  if (spec.files.length > 1) return spec.files.map(unit);
  const file = spec.files[0];
  if (file === undefined || compressionOf(file) || (spec.format !== 'jsonl' && spec.format !== 'txt')) return null;
  const size = fs.statSync(file).size;
  const n = Math.min(workers * RANGES_PER_WORKER, Math.floor(size / Math.max(1, minRangeBytes)));
  if (n < 2) return null;
  const cuts = await lineCuts(file, size, n);
  const starts = [0, ...cuts];
  return starts.map((start, i) => ({ ...unit(file), range: { start, end: i + 1 < starts.length ? starts[i + 1] : size } }));
}

/** Line starts near `k·size/n` (k = 1 … n−1): just after the first "\n" at or after byte k·size/n − 1, increasing, inside the file. */
export async function lineCuts(file: string, size: number, n: number): Promise<number[]> {
  const cuts: number[] = [];
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(64 << 10);
    for (let k = 1; k < n; k++) {
      let pos = Math.max(Math.floor((size * k) / n) - 1, cuts.length ? cuts[cuts.length - 1] : 0);
      let cut = -1;
      while (cut < 0 && pos < size) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) break;
        const i = buf.subarray(0, bytesRead).indexOf(0x0a);
        if (i >= 0) cut = pos + i + 1;
        else pos += bytesRead;
      }
      if (cut < 0 || cut >= size) break;
      if (cuts.length === 0 || cut > cuts[cuts.length - 1]) cuts.push(cut);
    }
  } finally {
    await fh.close();
  }
  return cuts;
}
