/**
 * The offsets index of one Arrow part of a tokenized cache: where each record batch's `input_ids`
 * buffers lie in the file, so a reader can fetch any token range or document with positioned reads
 * (block-reader.ts) instead of decoding whole record batches.
 *
 *   scanPartOffsets(file, part) → PartOffsets        reads only the IPC message headers (one small read
 *                                                    per record batch), never the token data
 *   offsetsFile(dir, part) → `<split>/part-….offsets.json`   stored beside the part
 *   writePartOffsets / readPartOffsets               the file, with the cache fingerprint and the part's
 *                                                    size it describes, and a sha256 of its own content
 *   ensurePartOffsets(dir, part, fingerprint) → PartOffsets  read; built first when absent or from
 *                                                    another cache (other fingerprint)
 *   ensureCacheOffsets(dir, index)                   the same for every part (prepare, and train on first use)
 *
 * An offsets file that was edited (digest), belongs to a part of another size, or does not add up to
 * the index's documents and tokens is refused with a PtflowError naming the file.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import path from 'node:path';
import { Message, RecordBatchReader } from 'apache-arrow';
import { z } from 'zod';
import { PtflowError } from '../errors';
import { writeJsonAtomic } from '../engine/io/atomic';
import type { PartFile, TokenCacheIndex } from '../../schemas/token-cache';
import { PART_SCHEMA_KEY, PART_SCHEMA_NAME, PART_VERSION_KEY, checkPartFile } from './arrow-part';
import { TOKEN_CACHE_VERSION } from '../../schemas/token-cache';

export const OFFSETS_FORMAT = 'ptflow.token-cache.offsets';
export const OFFSETS_VERSION = 1;

const count = z.number().int().nonnegative();

/**
 * One record batch: [documents, tokens, offsets_at, values_at, value0] — its rows, its tokens, the file
 * positions of its list offsets buffer (Int32, documents + 1 entries) and of its values buffer (Int32),
 * and its first list offset (0 for ptflow's writer). Token t of the batch (counted from its first row)
 * lies at values_at + 4·(value0 + t).
 */
export const batchOffsetsSchema = z.tuple([count, count, count, count, count]);

export const partOffsetsBodySchema = z.object({
  format: z.literal(OFFSETS_FORMAT),
  version: z.literal(OFFSETS_VERSION),
  /** The cache fingerprint (index.json) of the part this describes. */
  fingerprint: z.string(),
  part: z.string(),
  part_bytes: count,
  documents: count,
  tokens: count,
  batches: z.array(batchOffsetsSchema),
});
export const partOffsetsSchema = partOffsetsBodySchema.extend({ digest: z.string() });

export type PartOffsets = z.infer<typeof partOffsetsSchema>;
type PartOffsetsBody = z.infer<typeof partOffsetsBodySchema>;

/** `train/part-00000-of-00002.arrow` → `train/part-00000-of-00002.offsets.json` (relative to the cache). */
export function offsetsFile(part: Pick<PartFile, 'file'>): string {
  return part.file.replace(/\.arrow$/, '') + '.offsets.json';
}

function digestOf(b: PartOffsetsBody): string {
  // Fixed key order (the body's fields as declared), so the digest does not depend on JSON formatting.
  const canonical = JSON.stringify([b.format, b.version, b.fingerprint, b.part, b.part_bytes, b.documents, b.tokens, b.batches]);
  return createHash('sha256').update(canonical).digest('hex');
}

function readAt(fd: number, file: string, pos: number, len: number): Buffer {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, buf, got, len - got, pos + got);
    if (n === 0) throw new PtflowError(`tokenized cache file ${file}: ends inside an Arrow message at byte ${pos + got}`);
    got += n;
  }
  return buf;
}

/** The schema in the file's footer is a token cache's of this format. */
async function checkFooterSchema(file: string, bad: (what: string) => PtflowError): Promise<void> {
  const fh = await fs.promises.open(file, 'r');
  try {
    let meta: Map<string, string>;
    try {
      const reader = await RecordBatchReader.from(fh);
      await reader.open(); // reads the footer (schema and record batch list), no data
      meta = reader.schema.metadata;
    } catch (e) {
      throw bad(`not a readable Arrow IPC file (${(e as Error).message})`);
    }
    if (meta.get(PART_SCHEMA_KEY) !== PART_SCHEMA_NAME || meta.get(PART_VERSION_KEY) !== String(TOKEN_CACHE_VERSION)) {
      throw bad(`not a ptflow token cache of format ${TOKEN_CACHE_VERSION}`);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Build the offsets of a part by walking its IPC messages (headers only). Arrow JS's file writer puts
 * the schema in the footer only; a schema message at the start (other writers) is checked too.
 */
export async function scanPartOffsets(dir: string, part: PartFile, fingerprint: string): Promise<PartOffsets> {
  const file = path.join(dir, part.file);
  checkPartFile(file, part);
  const bad = (what: string): PtflowError => new PtflowError(`tokenized cache file ${file}: ${what}; rebuild it with \`ptflow prepare\` (or overwrite_cache: true)`);
  await checkFooterSchema(file, bad);
  const fd = fs.openSync(file, 'r');
  const batches: PartOffsets['batches'] = [];
  let documents = 0;
  let tokens = 0;
  try {
    let pos = 8; // "ARROW1" + 2 bytes of padding
    for (;;) {
      if (pos + 8 > part.bytes) throw bad(`no end-of-stream marker before byte ${part.bytes}`);
      const prefix = readAt(fd, file, pos, 8);
      let metaLen: number;
      let metaAt: number;
      if (prefix.readInt32LE(0) === -1) {
        metaLen = prefix.readInt32LE(4);
        metaAt = pos + 8;
      } else {
        metaLen = prefix.readInt32LE(0); // pre-1.0 framing, no continuation marker
        metaAt = pos + 4;
      }
      if (metaLen === 0) break; // end of stream: the footer follows
      if (metaLen < 0 || metaAt + metaLen > part.bytes) throw bad(`bad Arrow message length ${metaLen} at byte ${pos}`);
      let msg: Message;
      try {
        msg = Message.decode(readAt(fd, file, metaAt, metaLen));
      } catch (e) {
        throw bad(`unreadable Arrow message at byte ${pos} (${(e as Error).message})`);
      }
      const bodyAt = metaAt + metaLen;
      const bodyLength = Number(msg.bodyLength);
      if (!(bodyLength >= 0) || bodyAt + bodyLength > part.bytes) throw bad(`Arrow message at byte ${pos} runs past the end of the file`);
      if (msg.isSchema()) {
        const meta = msg.header().metadata;
        if (meta.get(PART_SCHEMA_KEY) !== PART_SCHEMA_NAME || meta.get(PART_VERSION_KEY) !== String(TOKEN_CACHE_VERSION)) {
          throw bad(`not a ptflow token cache of format ${TOKEN_CACHE_VERSION}`);
        }
      } else if (msg.isRecordBatch()) {
        const rb = msg.header();
        if (msg.compression) throw bad('compressed record batches cannot be read by offset');
        const rows = Number(rb.length);
        const nodes = rb.nodes;
        const bufs = rb.buffers;
        if (nodes.length !== 2 || bufs.length !== 4 || Number(nodes[0].nullCount) !== 0 || Number(nodes[1].nullCount) !== 0) {
          throw bad(`record batch at byte ${pos} is not one non-null List<Int32> column`);
        }
        const offLen = Number(bufs[1].length);
        const valLen = Number(bufs[3].length);
        const offAt = bodyAt + Number(bufs[1].offset);
        const valAt = bodyAt + Number(bufs[3].offset);
        if (offLen < 4 * (rows + 1) || offAt + offLen > bodyAt + bodyLength || valAt + valLen > bodyAt + bodyLength) {
          throw bad(`record batch at byte ${pos} has buffers outside its body`);
        }
        const ends = readAt(fd, file, offAt, 4 * (rows + 1));
        const value0 = ends.readInt32LE(0);
        const valueEnd = ends.readInt32LE(4 * rows);
        const n = valueEnd - value0;
        if (value0 < 0 || n < 0 || 4 * valueEnd > valLen) throw bad(`record batch at byte ${pos} has list offsets outside its values`);
        batches.push([rows, n, offAt, valAt, value0]);
        documents += rows;
        tokens += n;
      } else {
        throw bad(`unexpected Arrow message (dictionary batch) at byte ${pos}`);
      }
      pos = bodyAt + bodyLength;
    }
  } finally {
    fs.closeSync(fd);
  }
  if (documents !== part.documents || tokens !== part.tokens) {
    throw bad(`holds ${documents} documents / ${tokens} tokens, the index says ${part.documents} / ${part.tokens}`);
  }
  const body: PartOffsetsBody = {
    format: OFFSETS_FORMAT, version: OFFSETS_VERSION, fingerprint, part: part.file, part_bytes: part.bytes, documents, tokens, batches,
  };
  return { ...body, digest: digestOf(body) };
}

export async function writePartOffsets(dir: string, offsets: PartOffsets): Promise<void> {
  await writeJsonAtomic(path.join(dir, offsetsFile({ file: offsets.part })), offsets);
}

/** The stored offsets of `part`; null when there is no file. Refuses an edited or inconsistent one. */
export function readPartOffsets(dir: string, part: PartFile): PartOffsets | null {
  const file = path.join(dir, offsetsFile(part));
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PtflowError(`${file}: cannot read the token cache offsets: ${(e as Error).message}`);
  }
  const fix = `delete it to have it rebuilt from ${part.file}`;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PtflowError(`${file}: not valid JSON (${(e as Error).message}); ${fix}`);
  }
  const r = partOffsetsSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new PtflowError(`${file}: not a ptflow token cache offsets file: key "${issue.path.join('.') || '(root)'}": ${issue.message}; ${fix}`);
  }
  const o = r.data;
  const { digest, ...body } = o;
  if (digestOf(body) !== digest) throw new PtflowError(`${file} was edited (its content does not match its digest); ${fix}`);
  if (o.part !== part.file) throw new PtflowError(`${file} describes ${o.part}, not ${part.file}; ${fix}`);
  let docs = 0;
  let toks = 0;
  for (const [d, t, offAt, valAt] of o.batches) {
    docs += d;
    toks += t;
    if (offAt + 4 * (d + 1) > o.part_bytes || valAt + 4 * t > o.part_bytes) throw new PtflowError(`${file}: a record batch lies outside the part's ${o.part_bytes} bytes; ${fix}`);
  }
  if (docs !== o.documents || toks !== o.tokens) throw new PtflowError(`${file}: its record batches add up to ${docs} documents / ${toks} tokens, not ${o.documents} / ${o.tokens}; ${fix}`);
  return o;
}

/**
 * The offsets of `part` for the cache with `fingerprint`: the stored ones when they describe this part
 * as the index lists it, else scanned from the part and stored (on first use, or after a rebuild).
 * A stored file from this cache that disagrees with the index (other size, documents or tokens) is
 * refused: the part changed after the cache was written.
 */
export async function ensurePartOffsets(dir: string, part: PartFile, fingerprint: string): Promise<PartOffsets> {
  checkPartFile(path.join(dir, part.file), part);
  const stored = readPartOffsets(dir, part);
  if (stored && stored.fingerprint === fingerprint) {
    if (stored.part_bytes !== part.bytes || stored.documents !== part.documents || stored.tokens !== part.tokens) {
      throw new PtflowError(
        `${path.join(dir, offsetsFile(part))} describes ${stored.part_bytes} bytes / ${stored.documents} documents / ${stored.tokens} tokens, ` +
          `the cache index says ${part.bytes} / ${part.documents} / ${part.tokens}; rebuild the cache with \`ptflow prepare\` (or overwrite_cache: true)`,
      );
    }
    return stored;
  }
  const scanned = await scanPartOffsets(dir, part, fingerprint);
  await writePartOffsets(dir, scanned);
  return scanned;
}

/** Offsets indexes of every part of a complete cache (built where missing). */
export async function ensureCacheOffsets(dir: string, index: Pick<TokenCacheIndex, 'fingerprint' | 'splits'>): Promise<void> {
  for (const s of Object.values(index.splits)) for (const p of s.parts) await ensurePartOffsets(dir, p, index.fingerprint);
}
