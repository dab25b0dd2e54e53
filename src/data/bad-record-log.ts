/**
 * The bad records a run skipped (on_bad_record: skip), each counted once: a streamed run reads its
 * files again every epoch, and a restarted stage reads them again, but a record is one bad record.
 *
 *   log.add(problem) → boolean   true the first time this record (file, byte / row / line, reason) is seen
 *   log.count, log.first         how many, and the first one (for messages)
 *
 * Memory: one short key per distinct bad record.
 */
import type { BadRecord } from './readers';

export class BadRecordLog {
  private readonly seen = new Set<string>();
  count = 0;
  first: BadRecord | null = null;

  add(problem: BadRecord): boolean {
    // the byte offset or row is known however the file was reached; the line number only when read from its start
    const at = problem.byte !== undefined ? `b${problem.byte}` : problem.row !== undefined ? `r${problem.row}` : `l${problem.line ?? ''}`;
    const key = `${problem.file}\u0000${at}\u0000${problem.reason}`;
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.count++;
    this.first ??= problem;
    return true;
  }
}
