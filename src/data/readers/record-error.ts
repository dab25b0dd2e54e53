/**
 * Bad data in a file, as the readers raise it: `RecordError` is the PtflowError a reader throws for a
 * problem with the data (never for the operating system's errors: a missing file, a read error), with
 * the problem's `reason` apart from its location, so that `skipOrThrow` can either hand it to
 * `ReadOptions.onBadRecord` (on_bad_record: skip) or throw it (on_bad_record: error).
 *
 *   new RecordError(where, reason, at?)   message "<where>: <reason>"; `at` adds line/row/byte it knows
 *   skipOrThrow(onBad, e, loc)            reports `e` at `loc` (plus e.at) when it is a RecordError and
 *                                         onBad is given; throws `e` otherwise
 *   describeBadRecord(p)                  "file:line: reason" (or "file: row N: …", "file: byte N: …")
 */
import { PtflowError } from '../../errors';
import type { BadRecord, BadRecordHandler } from './types';

export type RecordLoc = Omit<BadRecord, 'reason'>;

export class RecordError extends PtflowError {
  constructor(
    where: string,
    readonly reason: string,
    readonly at: Partial<RecordLoc> = {},
  ) {
    super(`${where}: ${reason}`, 2); // bad data: a usage error, never retried
  }
}

/** A bad record from its location and reason, without undefined keys. */
export function badRecord(loc: RecordLoc, reason: string): BadRecord {
  const out: BadRecord = { file: loc.file, reason };
  if (loc.line !== undefined) out.line = loc.line;
  if (loc.row !== undefined) out.row = loc.row;
  if (loc.byte !== undefined) out.byte = loc.byte;
  return out;
}

/** Report `e` to `onBad` (data problems only, when skipping) or throw it. */
export function skipOrThrow(onBad: BadRecordHandler | undefined, e: unknown, loc: RecordLoc): void {
  if (!onBad || !(e instanceof RecordError)) throw e;
  const at = e.at;
  onBad(badRecord({ file: loc.file, line: at.line ?? loc.line, row: at.row ?? loc.row, byte: at.byte ?? loc.byte }, e.reason));
}

export function describeBadRecord(p: BadRecord): string {
  if (p.line !== undefined) return `${p.file}:${p.line}: ${p.reason}`;
  if (p.row !== undefined) return `${p.file}: row ${p.row}: ${p.reason}`;
  if (p.byte !== undefined) return `${p.file}: byte ${p.byte}: ${p.reason}`;
  return `${p.file}: ${p.reason}`;
}
