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

/**
 * A record a reader could not turn into a document (on_bad_record: skip). `line` (1-based) for text
 * formats, `row` (0-based row in the file) for parquet / arrow, `byte` for the record's first byte in
 * line-based formats or where a compressed stream broke (decompressed bytes). `reason` is what is
 * wrong, without the location ("malformed JSON: …", "invalid UTF-8", "missing text column …").
 */
export interface BadRecord {
  file: string;
  line?: number;
  row?: number;
  byte?: number;
  reason: string;
}

export type BadRecordHandler = (problem: BadRecord) => void;

export interface ReadOptions {
  /** Name of the column / key holding the text (ignored by the txt reader). */
  textColumn: string;
  /** Bytes read per chunk (default 1 MiB). */
  chunkBytes?: number;
  /**
   * When given, a bad record is handed to it and reading goes on with the next record (a problem
   * that spoils the rest of a file — a corrupt compressed stream, an unreadable header or footer, a
   * missing text column in a schema — is reported once and the file ends there). When absent, the
   * reader throws a PtflowError naming the file and line / row.
   */
  onBadRecord?: BadRecordHandler;
}

export type DocReader = (file: string, opts: ReadOptions) => AsyncGenerator<Doc, void, undefined>;

export const DEFAULT_CHUNK_BYTES = 1 << 20;
