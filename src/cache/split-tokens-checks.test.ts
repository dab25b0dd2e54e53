/**
 * Content checks of the offset reader (split-tokens.ts): a record batch whose bytes changed after
 * `prepare` hashed them is refused by its content_sha256 the first time a read touches it, naming the
 * part file and the batch's rows; a token id at or above vocab_size is refused naming the file and the
 * row in its part. Batches of 5 documents, so batch k holds rows 5k..5k+4 of its part.
 */
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PartFile } from '../../schemas/token-cache';
import { BlockSource } from './block-source';
import { ensurePartOffsets, type PartOffsets } from './part-offsets';
import { SplitTokens, type SplitChecks } from './split-tokens';
import { randomDocs, writeSplit } from './test-cache';

const FP = 'f'.repeat(64);

async function offsetsOf(dir: string, parts: PartFile[]): Promise<PartOffsets[]> {
  const out = [];
  for (const p of parts) out.push(await ensurePartOffsets(dir, p, FP));
  return out;
}

/** Stream position of the first token of document d (docs in order). */
const tokenStart = (docs: Int32Array[], d: number): number => docs.slice(0, d).reduce((a, x) => a + x.length, 0);

/** XOR one byte of `file` at `pos`. */
function flipByte(file: string, pos: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, pos);
  b[0] ^= 0x5a;
  fs.writeSync(fd, b, 0, 1, pos);
  fs.closeSync(fd);
}

describe('SplitTokens content checks', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-split-checks-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a damaged token byte is refused by its batch checksum, naming the file and the rows; other batches still read', async () => {
    const docs = randomDocs(30, 20, 11);
    const parts = await writeSplit(dir, 'train', docs, 1, 5);
    const offsets = await offsetsOf(dir, parts);
    const [, , , valAt, value0] = offsets[0].batches[3];
    const file = path.join(dir, parts[0].file);
    flipByte(file, valAt + 4 * (value0 + 1) + 2); // second token of batch 3 (rows 15–19)
    const open = (c?: SplitChecks): SplitTokens => SplitTokens.open(dir, parts, offsets, c);

    const s = open();
    const first = new Int32Array(docs[0].length);
    s.readTokens(0, first); // batch 0 is intact
    expect(Array.from(first)).toEqual(Array.from(docs[0]));
    const bad = new RegExp(`^tokenized cache file ${file.replace(/[.\\/]/g, '\\$&')}: record batch 3 \\(rows 15–19\\) does not match its checksum in the index`);
    // Any read reaching batch 3 — a token range, a document span, document starts — is refused.
    expect(() => s.readTokens(tokenStart(docs, 17), new Int32Array(1))).toThrow(bad);
    expect(() => s.docSpan(16)).toThrow(bad);
    expect(() => s.docStartsIn(tokenStart(docs, 15), tokenStart(docs, 16) + 1)).toThrow(bad);
    expect(() => new BlockSource(s, { cutoffLen: 8, packing: true, neatPacking: false }).row(Math.floor(tokenStart(docs, 16) / 8))).toThrow(bad);
    // Checking ahead of a read (verify-ahead.ts) refuses the same blocks, and only those.
    expect(() => new BlockSource(s, { cutoffLen: 8, packing: true, neatPacking: false }).verify(Math.floor(tokenStart(docs, 16) / 8))).toThrow(bad);
    expect(() => new BlockSource(s, { cutoffLen: 64, packing: false, neatPacking: false }).verify(19)).toThrow(bad);
    expect(() => new BlockSource(s, { cutoffLen: 64, packing: false, neatPacking: false }).verify(20)).not.toThrow();
    expect(() => s.verifyRange(tokenStart(docs, 14), tokenStart(docs, 15) + 1)).toThrow(bad); // rows 14 and 15: batches 2 and 3
    s.close();

    // The same read without checksums serves the damaged token: the check is what refuses it.
    const u = open({ checksums: false });
    const got = new Int32Array(1);
    u.readTokens(tokenStart(docs, 15) + 1, got);
    expect(got[0]).not.toBe(docs[15][1]);
    u.close();
  });

  it('a damaged list offset is refused by the checksum too', async () => {
    const docs = randomDocs(20, 20, 12);
    const parts = await writeSplit(dir, 'train', docs, 1, 5);
    const offsets = await offsetsOf(dir, parts);
    const [, , offAt] = offsets[0].batches[1];
    flipByte(path.join(dir, parts[0].file), offAt + 4 * 2); // third row start of batch 1 (rows 5–9)
    const s = SplitTokens.open(dir, parts, offsets);
    expect(() => s.readTokens(tokenStart(docs, 9), new Int32Array(1))).toThrow(/part-00000-of-00001\.arrow: record batch 1 \(rows 5–9\) does not match its checksum/);
    s.close();
  });

  it('each batch is verified once: a change after the first read of a batch is not read again', async () => {
    const docs = randomDocs(10, 20, 13);
    const parts = await writeSplit(dir, 'train', docs, 1, 5);
    const offsets = await offsetsOf(dir, parts);
    const s = SplitTokens.open(dir, parts, offsets);
    s.readTokens(0, new Int32Array(1)); // verifies batch 0
    const [, , , valAt, value0] = offsets[0].batches[0];
    flipByte(path.join(dir, parts[0].file), valAt + 4 * (value0 + 2));
    expect(() => s.readTokens(0, new Int32Array(docs[0].length))).not.toThrow(); // remembered as verified
    expect(() => s.readTokens(tokenStart(docs, 5), new Int32Array(1))).not.toThrow(); // batch 1 intact
    s.close();
    const again = SplitTokens.open(dir, parts, offsets); // a fresh reader checks again
    expect(() => again.readTokens(0, new Int32Array(1))).toThrow(/record batch 0 \(rows 0–4\) does not match its checksum/);
    again.close();
  });

  it('a token id at or above vocab_size names the file and the row in its part', async () => {
    const docs = randomDocs(30, 20, 14).map((d) => (d.length < 4 ? Int32Array.from([...d, 1, 2, 3, 4]) : d));
    docs[22][3] = 1500; // part 1 holds documents 15..29: row 7 of it, in its batch 1 (rows 5–9)
    const parts = await writeSplit(dir, 'train', docs, 2, 5);
    const offsets = await offsetsOf(dir, parts);
    const s = SplitTokens.open(dir, parts, offsets, { vocabSize: 1500 });
    s.readTokens(tokenStart(docs, 15), new Int32Array(docs[15].length)); // part 1, batch 0: in range
    expect(() => s.readTokens(tokenStart(docs, 20), new Int32Array(1))).toThrow(
      /tokenized cache file \S+\/train\/part-00001-of-00002\.arrow: row 7 \(0-based\), token 3: id 1500 is outside the model's vocabulary \(vocab_size 1500\)/,
    );
    s.close();
    // A negative id is outside the vocabulary too.
    const neg = docs.map((d) => Int32Array.from(d));
    neg[22][3] = 5;
    neg[8][2] = -7; // part 0, batch 1, row 8
    const negDir = path.join(dir, 'neg');
    const negParts = await writeSplit(negDir, 'train', neg, 2, 5);
    const n = SplitTokens.open(negDir, negParts, await offsetsOf(negDir, negParts), { vocabSize: 1500 });
    expect(() => n.readTokens(tokenStart(neg, 5), new Int32Array(1))).toThrow(/part-00000-of-00002\.arrow: row 8 \(0-based\), token 2: id -7 is outside the model's vocabulary/);
    n.close();
    const wider = SplitTokens.open(dir, parts, offsets, { vocabSize: 1501 });
    const all = new Int32Array(wider.tokens);
    wider.readTokens(0, all);
    expect(all[tokenStart(docs, 22) + 3]).toBe(1500);
    wider.close();
  });
});
