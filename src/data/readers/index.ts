/**
 * Document readers by format: a format → reader table (the extension point for new formats), and
 * helpers that read all files of a `DatasetSpec` in order.
 *
 *   readDataset(spec, opts?) → AsyncGenerator<Doc>   lazily, file after file
 *   collectDocs(spec, limit?, opts?) → Promise<Doc[]> stops reading after `limit` documents
 *
 * `opts.onBadRecord` (on_bad_record: skip) makes every reader report a bad record and go on instead
 * of throwing (types.ts, record-error.ts).
 *
 * Every format may also be gzip- or zstd-compressed (`x.jsonl.zst`, `x.parquet.gz`): see compression.ts.
 */
import { PtflowError } from '../../errors';
import type { DatasetFormat, DatasetSpec } from '../registry';
import { readArrow } from './arrow';
import { readCsv } from './csv';
import { readJson } from './json';
import { readJsonl } from './jsonl';
import { readParquet } from './parquet';
import { readTxt } from './txt';
import type { BadRecordHandler, Doc, DocReader } from './types';

export type { BadRecord, BadRecordHandler, Doc, DocLoc, DocReader, ReadOptions } from './types';
export { describeBadRecord } from './record-error';

const READERS: Partial<Record<DatasetFormat, DocReader>> = {
  jsonl: readJsonl,
  json: readJson,
  txt: readTxt,
  csv: readCsv,
  parquet: readParquet,
  arrow: readArrow,
};

/** Install (or replace) the reader of a format. */
export function registerReader(format: DatasetFormat, reader: DocReader): void {
  READERS[format] = reader;
}

export function readerFor(format: DatasetFormat, file?: string): DocReader {
  const reader = READERS[format];
  if (!reader) {
    throw new PtflowError(`${file ?? format}: reading ${format} files is not supported yet (supported: ${Object.keys(READERS).join(', ')})`);
  }
  return asUsageErrors(reader);
}

/**
 * A reader's own errors (bad JSON, a missing text column, invalid UTF-8, a truncated archive, …) are
 * problems in the user's data: usage errors (exit 2), which the supervisor never retries — reading the
 * same bytes again cannot succeed. Other errors (the operating system's) pass through unchanged.
 */
function asUsageErrors(reader: DocReader): DocReader {
  return async function* (file, opts) {
    try {
      yield* reader(file, opts);
    } catch (e) {
      if (e instanceof PtflowError && e.exitCode !== 2) throw new PtflowError(e.message, 2);
      throw e;
    }
  };
}

export interface DatasetReadOptions {
  chunkBytes?: number;
  /** Report bad records here and skip them (absent: the first one throws). */
  onBadRecord?: BadRecordHandler;
}

export async function* readDataset(
  spec: Pick<DatasetSpec, 'files' | 'format' | 'textColumn'>,
  opts: DatasetReadOptions = {},
): AsyncGenerator<Doc, void, undefined> {
  for (const file of spec.files) {
    yield* readerFor(spec.format, file)(file, { textColumn: spec.textColumn, chunkBytes: opts.chunkBytes, onBadRecord: opts.onBadRecord });
  }
}

/** Read a dataset into memory, stopping after `limit` documents (max_samples) when given. */
export async function collectDocs(
  spec: Pick<DatasetSpec, 'files' | 'format' | 'textColumn'>,
  limit?: number,
  opts: DatasetReadOptions = {},
): Promise<Doc[]> {
  const out: Doc[] = [];
  if (limit !== undefined && limit <= 0) return out;
  for await (const doc of readDataset(spec, opts)) {
    out.push(doc);
    if (limit !== undefined && out.length >= limit) break;
  }
  return out;
}
