/**
 * exact_dedup: drops a document whose normalised text (datatrove `simplify_text`: lowercase, numbers →
 * 0, no punctuation, one space, no diacritics) was seen before in this run; the first one is kept.
 * A document is known by the first 8 bytes of the SHA-1 of that text (datatrove's sha1_hash64).
 *
 * Memory is bounded: the hashes live in one table of at most 16 bytes × `max_documents` (128 MiB at
 * the default 8 388 608); a run with more distinct documents stops with an error saying so (raise
 * `max_documents`). Set `normalize: false` to compare the raw text instead.
 *
 * Restarts: a batch half-done when the step failed is rolled back before it is seen again.
 */
import { createHash } from 'node:crypto';
import type { RecordBatch } from 'apache-arrow';
import { z } from 'zod';
import { PtflowError } from '../../errors';
import { defineActor, type ActorContext } from '../api';
import { docsBatch, readDocs, readTextBytes, type Doc } from '../edges';
import { HashSet64 } from './hash-table';
import { simplifyAsciiBytes, simplifyText } from './text';

export const exactDedupOptions = z
  .object({
    max_documents: z.number().int().min(1).default(8_388_608).describe('distinct documents remembered at most (16 bytes each)'),
    normalize: z.boolean().default(true).describe('compare simplify_text(text) (true) or the raw text'),
  })
  .strict();
export type ExactDedupOptions = z.output<typeof exactDedupOptions>;

interface State {
  o: ExactDedupOptions;
  seen: HashSet64;
  /** True while a batch is in work (a restart finds it true and rolls the batch back). */
  open: boolean;
}

/** sha1(text)[:8] as (low, high) 32-bit words, little-endian (datatrove sha1_hash64). */
export function sha1Hash64(text: string): [number, number] {
  const d = createHash('sha1').update(text, 'utf8').digest();
  return [d.readUInt32LE(0), d.readUInt32LE(4)];
}

function sha1Bytes64(bytes: Uint8Array): [number, number] {
  const d = createHash('sha1').update(bytes).digest();
  return [d.readUInt32LE(0), d.readUInt32LE(4)];
}

/** Room for simplify_text's output of one ASCII document (it is never longer than its input). */
let scratch = Buffer.allocUnsafe(1 << 16);

/**
 * The hash of document `[from, to)` of the text column's UTF-8 bytes. An ASCII text is normalised
 * straight from its bytes (no string is made); any other is decoded and normalised by the rules.
 * Raw (`normalize: false`): the bytes as they are — the text's UTF-8, what `sha1Hash64(text)` hashes.
 */
function docHash(bytes: Uint8Array, from: number, to: number, normalize: boolean): [number, number] {
  if (!normalize) return sha1Bytes64(bytes.subarray(from, to));
  if (scratch.length < to - from) scratch = Buffer.allocUnsafe(to - from);
  const len = simplifyAsciiBytes(bytes, from, to, scratch);
  if (len >= 0) return sha1Bytes64(scratch.subarray(0, len));
  return sha1Hash64(simplifyText(Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('utf8')));
}

export default defineActor({
  name: 'exact_dedup',
  description: 'drops documents whose normalised text was seen before (bounded memory)',
  input: 'docs',
  output: 'docs',
  parallel: false,
  options: exactDedupOptions,
  init: (o: ExactDedupOptions): State => ({ o, seen: new HashSet64(o.max_documents), open: false }),
  process(batch: RecordBatch, st: State, ctx: ActorContext) {
    if (st.open) st.seen.undo();
    st.open = true;
    st.seen.mark();
    const n = batch.numRows;
    st.seen.reserve(n);
    const { offsets, bytes } = readTextBytes(batch);
    // The documents as objects only when one is dropped (to record it and build the output).
    let docs: Doc[] | null = null;
    const kept: Doc[] = [];
    for (let i = 0; i < n; i++) {
      const [lo, hi] = docHash(bytes, offsets[i], offsets[i + 1], st.o.normalize);
      if (st.seen.full && !st.seen.has(lo, hi)) {
        throw new PtflowError(
          `exact_dedup: more than max_documents (${st.o.max_documents}) distinct documents; raise it in the step's options ` +
            '(memory: 16 bytes per document)',
          2,
        );
      }
      const added = st.seen.add(lo, hi);
      if (added && docs === null) continue;
      if (docs === null) {
        docs = readDocs(batch);
        for (let k = 0; k < i; k++) kept.push(docs[k]); // all kept so far
      }
      if (added) kept.push(docs[i]);
      else ctx.drop('duplicate', docs[i]);
    }
    st.open = false;
    return docs === null ? batch : docsBatch(kept);
  },
});
