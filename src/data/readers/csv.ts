/**
 * CSV reader (RFC 4180 via csv-parse): a header row names the columns, quoted fields may hold
 * commas, quotes ("") and line breaks; blank lines are skipped (as pandas, HF's csv builder, does).
 * An empty text field is an empty document (pandas reads it as NaN, which LLaMA-Factory turns
 * into ""). Errors name file:line. Compressed files (.gz, .zst) are decompressed on the fly
 * (compression.ts).
 */
import * as fs from 'node:fs';
import { Readable, pipeline } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { PtflowError } from '../../errors';
import { openChunks } from './compression';
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
  let headerChecked = false;
  const parser = parse({
    bom: true,
    info: true,
    skip_empty_lines: true,
    columns: (header: string[]) => {
      if (!header.includes(column)) {
        throw new PtflowError(
          `${file}:1: missing text column "${column}" (columns: ${header.join(', ')}; set columns.prompt in dataset_info.json)`,
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
    if (e instanceof PtflowError) throw e;
    if (e instanceof CsvError) {
      const line = (e as CsvError & { lines?: number }).lines;
      throw new PtflowError(`${file}${line ? `:${line}` : ''}: malformed CSV: ${e.message}`);
    }
    throw new PtflowError(`${file}: ${(e as Error).message}`);
  }
  if (!headerChecked) return; // empty file: no header, no documents
}
