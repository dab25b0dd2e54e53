/**
 * Types shared by the document readers: a reader is an async generator of documents of one file,
 * reading lazily in bounded chunks.
 */

/** Where a document came from: `line` is 1-based, `row` is the 0-based record index in the file. */
export interface DocLoc {
  file: string;
  line?: number;
  row?: number;
  /** Byte offset of the record's first byte (line-based formats), for seeking on resume. */
  byte?: number;
}

export interface Doc {
  text: string;
  loc: DocLoc;
}

export interface ReadOptions {
  /** Name of the column / key holding the text (ignored by the txt reader). */
  textColumn: string;
  /** Bytes read per chunk (default 1 MiB). */
  chunkBytes?: number;
}

export type DocReader = (file: string, opts: ReadOptions) => AsyncGenerator<Doc, void, undefined>;

export const DEFAULT_CHUNK_BYTES = 1 << 20;
