/**
 * Content checksums of a tokenized cache's parts: one sha256 per Arrow record batch, over what the
 * batch means (its documents' token ids and where each document starts), written to the index by
 * `ptflow prepare` (`PartFile.content_sha256`) and verified batch by batch as a part is read. A part
 * whose bytes were damaged after it was written is refused naming the file and the batch, before a
 * single one of its tokens reaches training. Cost: see src/cache/README.md ("Checksums").
 */
import { createHash, type Hash } from 'node:crypto';
import { PtflowError } from '../errors';

/** sha256 hex of one record batch: its document count, offsets (from 0) and token ids, little-endian. */
export function batchChecksum(offsets: Int32Array, values: Int32Array): string {
  const ids = values.subarray(offsets[0], offsets[offsets.length - 1]);
  return startBatchHash(offsets).update(new Uint8Array(ids.buffer, ids.byteOffset, ids.byteLength)).digest('hex');
}

/**
 * The hash of a batch with its document count and list offsets (made relative to the first) fed in:
 * feed its token ids (little-endian Int32, in order, in any number of pieces) and digest to hex to get
 * batchChecksum. Lets a reader hash a batch's ids as it reads them from the file (split-tokens.ts).
 */
export function startBatchHash(offsets: Int32Array): Hash {
  const n = offsets.length - 1;
  const base = offsets[0];
  const rel = base === 0 ? offsets : offsets.map((o) => o - base);
  const h = createHash('sha256');
  h.update(new Uint8Array(Uint32Array.of(n).buffer));
  h.update(new Uint8Array(rel.buffer, rel.byteOffset, rel.byteLength));
  return h;
}

const REBUILD = 'the file is damaged; rebuild the cache with `ptflow prepare` (or overwrite_cache: true)';

/** The error for record batch `index` of `file` (rows firstRow… ) whose content does not match its checksum. */
export function checksumMismatch(file: string, index: number, firstRow: number, rows: number): PtflowError {
  return new PtflowError(
    `tokenized cache file ${file}: record batch ${index} (rows ${firstRow}–${firstRow + rows - 1}) does not match its checksum in the index: ${REBUILD}`,
    2,
  );
}

/** The error for token `token` of row `row` (0-based, in the part) of `file` holding an id outside [0, vocabSize). */
export function tokenOutOfRange(file: string, row: number, token: number, id: number, vocabSize: number): PtflowError {
  return new PtflowError(
    `tokenized cache file ${file}: row ${row} (0-based), token ${token}: id ${id} is outside the model's vocabulary ` +
      `(vocab_size ${vocabSize}); the cache was built with another tokenizer or is damaged: rebuild it with \`ptflow prepare\``,
    2,
  );
}

/** Checks record batch `index` of `file` (rows `firstRow`… ) against the index's checksums; null = none recorded. */
export function verifyBatch(
  file: string,
  expected: readonly string[] | undefined,
  index: number,
  firstRow: number,
  offsets: Int32Array,
  values: Int32Array,
): void {
  if (expected === undefined) return; // a cache written before checksums existed
  if (index >= expected.length) {
    throw new PtflowError(`tokenized cache file ${file}: record batch ${index} is not in the index (it lists ${expected.length}): ${REBUILD}`, 2);
  }
  if (batchChecksum(offsets, values) !== expected[index]) throw checksumMismatch(file, index, firstRow, offsets.length - 1);
}

/** After the last batch: every batch the index lists was read. */
export function verifyBatchCount(file: string, expected: readonly string[] | undefined, read: number): void {
  if (expected !== undefined && read !== expected.length) {
    throw new PtflowError(
      `tokenized cache file ${file} holds ${read} record batches, the index lists ${expected.length}: the file is damaged; rebuild the cache with \`ptflow prepare\``,
      2,
    );
  }
}

/** The first token id outside [0, vocabSize) in `docs` (rows from `firstRow`), as an error naming file and row. */
export function checkTokenRange(file: string, docs: readonly Int32Array[], firstRow: number, vocabSize: number): void {
  for (let r = 0; r < docs.length; r++) {
    const d = docs[r];
    for (let i = 0; i < d.length; i++) {
      const id = d[i];
      if (id < 0 || id >= vocabSize) throw tokenOutOfRange(file, firstRow + r, i, id, vocabSize);
    }
  }
}
