/**
 * JSON lines reader: one JSON object per line; blank lines are skipped (as pyarrow's JSON reader
 * does). A malformed line is an error naming file:line.
 */
import { PtflowError } from '../../errors';
import { readLines } from './lines';
import { textField } from './text-field';
import type { Doc, ReadOptions } from './types';

export async function* readJsonl(file: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  let row = 0;
  for await (const { text, line, byte } of readLines(file, 'lf', opts.chunkBytes)) {
    if (text.trim() === '') continue;
    yield { text: parseRecord(text, file, line, opts.textColumn), loc: { file, line, row: row++, byte } };
  }
}

/** Parse one JSON record and take its text column. */
export function parseRecord(json: string, file: string, line: number, column: string): string {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (e) {
    throw new PtflowError(`${file}:${line}: malformed JSON: ${(e as Error).message}`);
  }
  return textField(value, column, `${file}:${line}`);
}
