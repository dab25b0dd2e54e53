/**
 * CSV reader (RFC 4180 via csv-parse): a header row names the columns, quoted fields may hold
 * commas, quotes ("") and line breaks; blank lines are skipped (as pandas, HF's csv builder, does).
 * An empty text field is an empty document (pandas reads it as NaN, which LLaMA-Factory turns
 * into ""). Errors name file:line. Compressed files (.gz, .zst) are decompressed on the fly
 * (compression.ts).
 *
 * With `onBadRecord`, a record csv-parse cannot parse (wrong number of fields, a bad quote) is
 * reported and skipped (csv-parse's skip_records_with_error; after an unclosed quote it finds no
 * further records in the file); a header without the text column or a corrupt compressed stream is
 * reported once and the file ends there.
 */
import * as fs from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { PtflowError } from '../../errors';
import { openChunks } from './compression';
import { RecordError, skipOrThrow } from './record-error';
import { DEFAULT_CHUNK_BYTES, type Doc, type ReadOptions } from './types';

interface CsvInfo {
  lines: number;
  records: number;
}

export async function* readCsv(file: string, opts: ReadOptions): AsyncGenerator<Doc, void, undefined> {
  try {
    await fs.promises.access(file, fs.constants.R_OK);
  } catch (e) {
    throw new PtflowError(`Cannot open ${file}: ${(e as Error).message}`);
  }
  const column = opts.textColumn;
  const onBad = opts.onBadRecord;
  let headerChecked = false;
  let lastSkip = '';
  const parser = parse({
    bom: true,
    info: true,
    skip_empty_lines: true,
    skip_records_with_error: onBad !== undefined,
    on_skip: (err: CsvError | undefined) => {
      const line = (err as (CsvError & { lines?: number }) | undefined)?.lines;
      const reason = `malformed CSV: ${err?.message ?? 'unparsable record'}`;
      if (`${line}:${reason}` === lastSkip) return undefined; // csv-parse may report one problem twice
      lastSkip = `${line}:${reason}`;
      onBad?.(line ? { file, line, reason } : { file, reason });
      return undefined;
    },
    columns: (header: string[]) => {
      if (!header.includes(column)) {
        throw new RecordError(
          `${file}:1`,
          `missing text column "${column}" (columns: ${header.join(', ')}; set columns.prompt in dataset_info.json)`,
          { line: 1 },
        );
      }
      headerChecked = true;
      return header;
    },
  });
  // pipeline (not pipe) hands a read or decompression error on to the parser, i.e. to the loop below.
  pipeline(Readable.from(openChunks(file, opts.chunkBytes ?? DEFAULT_CHUNK_BYTES)), parser, () => undefined);
  let row = 0;
  try {
    for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: CsvInfo }>) {
      const text = item.record[column];
      let embedded = 0;
      for (const v of Object.values(item.record)) for (let k = 0; k < v.length; k++) if (v.charCodeAt(k) === 10) embedded++;
      yield { text, loc: { file, line: item.info.lines - embedded, row: row++ } };
    }
  } catch (e) {
    if (e instanceof PtflowError) {
      skipOrThrow(onBad, e, { file }); // a header without the text column, a corrupt compressed stream
      return;
    }
    if (e instanceof CsvError) {
      const line = (e as CsvError & { lines?: number }).lines;
      throw new PtflowError(`${file}${line ? `:${line}` : ''}: malformed CSV: ${e.message}`);
    }
    throw new PtflowError(`${file}: ${(e as Error).message}`);
  }
  if (!headerChecked) return; // empty file: no header, no documents
}
