/**
 * JSON lines reader: one JSON object per line; blank lines are skipped (as pyarrow's JSON reader
 * does). A malformed line is an error naming file:line — or, with `onBadRecord`, reported and skipped
 * (`loc.row` then counts the documents yielded).
 */
import { readLines } from './lines';
import { RecordError, skipOrThrow } from './record-error';
import { textField } from './text-field';
import type { Doc, ReadOptions } from './types';

export async function* readJsonl(file: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  let row = 0;
  for await (const { text, line, byte } of readLines(file, 'lf', opts.chunkBytes, opts.onBadRecord)) {
    if (text.trim() === '') continue;
    let value: string;
    try {
      value = parseRecord(text, file, line, opts.textColumn);
    } catch (e) {
      skipOrThrow(opts.onBadRecord, e, { file, line, byte });
      continue;
    }
    yield { text: value, loc: { file, line, row: row++, byte } };
  }
}

/** Parse one JSON record and take its text column (RecordError naming file:line when it can't). */
export function parseRecord(json: string, file: string, line: number, column: string): string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new RecordError(`${file}:${line}`, `malformed JSON: ${(e as Error).message}`);
  }
  return textField(value, column, `${file}:${line}`);
}
