/**
 * The Arrow IPC files of a tokenized cache: one column `input_ids` (List<Int32>, one document per
 * row, eos included, not packed), written as record batches of bounded size and read back one record
 * batch at a time.
 *
 *   const w = new PartWriter(file);  w.add(ids) …;  await w.close() → { documents, tokens, bytes }
 *   readPart(file, expected) → AsyncGenerator<Int32Array[]>   one array of documents per record batch
 *
 * A part that is missing, shorter than the index says, or not an Arrow file is a PtflowError naming
 * the file and what is wrong; so is a record batch whose content does not match its checksum.
 */
import * as fs from 'node:fs';
import { AsyncByteQueue, Field, Int32, List, RecordBatch, RecordBatchFileWriter, RecordBatchReader, Schema, Struct, makeData } from 'apache-arrow';
import { PtflowError } from '../errors';
import { TOKEN_CACHE_VERSION } from '../../schemas/token-cache';
import { batchChecksum, verifyBatch, verifyBatchCount } from './part-checksum';

export const PART_SCHEMA_KEY = 'ptflow.schema';
export const PART_SCHEMA_NAME = 'TokenCache';
export const PART_VERSION_KEY = 'ptflow.cache_format_version';
const ARROW_MAGIC = 'ARROW1';

/** Flush a record batch at this many documents or tokens, whichever comes first. */
const BATCH_DOCS = 8192;
const BATCH_TOKENS = 1 << 20;

const idsField = new Field('input_ids', new List(new Field('item', new Int32(), false)), false);
const schema = new Schema([idsField], new Map([
  [PART_SCHEMA_KEY, PART_SCHEMA_NAME],
  [PART_VERSION_KEY, String(TOKEN_CACHE_VERSION)],
]));

export interface PartStats {
  documents: number;
  tokens: number;
  bytes: number;
  /** sha256 of each record batch's content, in order (src/cache/part-checksum.ts). */
  contentSha256: string[];
}

/**
 * The writer's byte sink: each chunk goes to the file at once (no queue), so a record batch's buffers
 * are written before `write` returns and PartWriter can fill the same buffers for the next batch.
 */
type WriterChunk = Parameters<AsyncByteQueue['write']>[0];

class FileSink extends AsyncByteQueue {
  constructor(private readonly put: (bytes: Uint8Array) => void) {
    super();
  }

  override write(value: WriterChunk): void {
    const bytes = toUint8Array(value);
    if (bytes.byteLength > 0) this.put(bytes);
  }
}

function toUint8Array(v: WriterChunk): Uint8Array {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  throw new Error(`internal: the Arrow writer wrote a ${typeof v}, not bytes`);
}

/**
 * Memory: one record batch being filled (its token ids and document lengths, copied in by `add`, in
 * buffers reused from batch to batch), whatever the part's size. `add` keeps no reference to the
 * caller's array: a tokenizer's result buffer dies as soon as it is copied, while it is young, instead
 * of living on until its batch is flushed (which made it outlive minor collections and pile up as
 * old-generation garbage, raising peak RSS with the corpus until a full collection).
 */
export class PartWriter {
  private readonly fd: number;
  private readonly writer = new RecordBatchFileWriter();
  /** The batch being filled: `pendingDocs` documents, their ends in offsets[1..], ids in values. */
  private offsets = new Int32Array(1024 + 1);
  private values = new Int32Array(1 << 16);
  private pendingDocs = 0;
  private pendingTokens = 0;
  private documents = 0;
  private tokens = 0;
  private bytes = 0;
  private readonly checksums: string[] = [];

  /** `limits` (tests): flush a record batch at this many documents / tokens instead of the defaults. */
  constructor(
    readonly file: string,
    private readonly limits: { docs: number; tokens: number } = { docs: BATCH_DOCS, tokens: BATCH_TOKENS },
  ) {
    this.fd = fs.openSync(file, 'w');
    this.writer.reset(new FileSink((chunk) => this.writeBytes(chunk)));
  }

  /** Documents added so far. */
  get documentsAdded(): number {
    return this.documents + this.pendingDocs;
  }

  /** Copies `ids` into the batch being filled (the caller may reuse or drop its array at once). */
  add(ids: Int32Array): void {
    const n = this.pendingDocs;
    if (n + 2 > this.offsets.length) this.offsets = grown(this.offsets, n + 2, this.limits.docs + 1);
    const end = this.pendingTokens + ids.length;
    if (end > this.values.length) this.values = grown(this.values, end, this.limits.tokens);
    this.values.set(ids, this.pendingTokens);
    this.offsets[n + 1] = end;
    this.pendingDocs = n + 1;
    this.pendingTokens = end;
    if (this.pendingDocs >= this.limits.docs || this.pendingTokens >= this.limits.tokens) this.flushBatch();
  }

  /** Let other work run between `add`s (bytes are written as each record batch is flushed). */
  async drain(): Promise<void> {
    await new Promise((r) => setImmediate(r));
  }

  async close(): Promise<PartStats> {
    this.flushBatch(true);
    this.writer.finish(); // the footer, written to the file before this returns
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    return { documents: this.documents, tokens: this.tokens, bytes: this.bytes, contentSha256: [...this.checksums] };
  }

  /** Close without finishing (after an error); the caller removes the file. */
  abort(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }

  private writeBytes(chunk: Uint8Array): void {
    try {
      let done = 0;
      while (done < chunk.byteLength) done += fs.writeSync(this.fd, chunk, done, chunk.byteLength - done);
    } catch (e) {
      throw new PtflowError(`cannot write ${this.file}: ${(e as Error).message}`);
    }
    this.bytes += chunk.byteLength;
  }

  private flushBatch(evenIfEmpty = false): void {
    const n = this.pendingDocs;
    if (n === 0 && !(evenIfEmpty && this.documents === 0)) return;
    const offsets = this.offsets.subarray(0, n + 1);
    const values = this.values.subarray(0, this.pendingTokens);
    const list = makeData({
      type: idsField.type,
      length: n,
      nullCount: 0,
      valueOffsets: offsets,
      child: makeData({ type: new Int32(), length: values.length, nullCount: 0, data: values }),
    });
    this.checksums.push(batchChecksum(offsets, values));
    const struct = makeData({ type: new Struct([idsField]), length: n, nullCount: 0, children: [list] });
    this.writer.write(new RecordBatch(schema, struct)); // written through FileSink before it returns
    this.documents += n;
    this.tokens += values.length;
    this.pendingDocs = 0;
    this.pendingTokens = 0;
  }
}

/**
 * A copy of `a` with room for at least `min` entries: doubling up to `cap` (a full batch), past it by
 * what is needed plus some headroom (the document that fills a batch usually ends beyond `cap`).
 */
function grown(a: Int32Array<ArrayBuffer>, min: number, cap: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(min > cap ? min + (1 << 14) : Math.max(min, Math.min(2 * a.length, cap)));
  b.set(a);
  return b;
}

export interface PartExpectation {
  /** Size in bytes the index records. */
  bytes: number;
  documents: number;
  /** Per record batch content checksums (absent in caches written before they existed). */
  content_sha256?: readonly string[];
}

/** Check a part's size and Arrow file magic without reading it. */
export function checkPartFile(file: string, expected: PartExpectation): void {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    throw new PtflowError(`tokenized cache file ${file} is missing (the cache index lists it)`);
  }
  if (size !== expected.bytes) {
    throw new PtflowError(
      `tokenized cache file ${file} is ${size < expected.bytes ? 'truncated' : 'larger than expected'}: ${size} bytes, ` +
        `the index says ${expected.bytes}; rebuild it with \`ptflow prepare\` (or overwrite_cache: true)`,
    );
  }
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(6);
    const tail = Buffer.alloc(6);
    fs.readSync(fd, head, 0, 6, 0);
    fs.readSync(fd, tail, 0, 6, Math.max(0, size - 6));
    if (head.toString('latin1') !== ARROW_MAGIC || tail.toString('latin1') !== ARROW_MAGIC) {
      throw new PtflowError(`tokenized cache file ${file} is not an Arrow IPC file (no ARROW1 magic at its start and end)`);
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The documents of a part, one record batch at a time (arrays are views on that batch). */
export async function* readPart(file: string, expected: PartExpectation): AsyncGenerator<Int32Array[], void, undefined> {
  checkPartFile(file, expected);
  const fh = await fs.promises.open(file, 'r');
  let seen = 0;
  let batches = 0;
  try {
    let reader;
    try {
      reader = await RecordBatchReader.from(fh);
      await reader.open();
    } catch (e) {
      throw new PtflowError(`tokenized cache file ${file}: not a readable Arrow IPC file (${(e as Error).message})`);
    }
    const meta = reader.schema.metadata;
    if (meta.get(PART_SCHEMA_KEY) !== PART_SCHEMA_NAME || meta.get(PART_VERSION_KEY) !== String(TOKEN_CACHE_VERSION)) {
      throw new PtflowError(
        `tokenized cache file ${file}: not a ptflow token cache of format ${TOKEN_CACHE_VERSION} ` +
          `(schema ${meta.get(PART_SCHEMA_KEY) ?? 'unnamed'}, format ${meta.get(PART_VERSION_KEY) ?? 'none'})`,
      );
    }
    const field = reader.schema.fields.find((f) => f.name === 'input_ids');
    const item = field && List.isList(field.type) ? (field.type.children[0].type as Int32) : null;
    if (!item || !Int32.isInt(item) || item.bitWidth !== 32 || !item.isSigned) {
      throw new PtflowError(`tokenized cache file ${file}: no input_ids column of List<Int32>`);
    }
    for (;;) {
      let next: IteratorResult<RecordBatch>;
      try {
        next = await reader.next();
      } catch (e) {
        throw new PtflowError(`tokenized cache file ${file}: cannot read record batch after ${seen} documents (${(e as Error).message})`);
      }
      if (next.done) break;
      const batch = next.value;
      const data = batch.getChild('input_ids')!.data[0];
      const n = batch.numRows;
      const offsets = data.valueOffsets as Int32Array;
      const values = data.children[0].values as Int32Array;
      verifyBatch(file, expected.content_sha256, batches++, seen, offsets.subarray(0, n + 1), values);
      const docs: Int32Array[] = new Array(n);
      for (let i = 0; i < n; i++) docs[i] = values.subarray(offsets[i], offsets[i + 1]);
      seen += n;
      yield docs;
    }
  } finally {
    await fh.close();
  }
  verifyBatchCount(file, expected.content_sha256, batches);
  if (seen !== expected.documents) {
    throw new PtflowError(`tokenized cache file ${file} holds ${seen} documents, the index says ${expected.documents}`);
  }
}
