import * as path from 'node:path';
import { Packer, packDocs, truncateDoc, truncateIds, type PackedBlock } from './packer';
import { loadTokenizer } from './tokenizer';

const arr = (b: PackedBlock, k: keyof PackedBlock = 'inputIds') => Array.from(b[k] as Int32Array);
const I = (xs: number[]) => Int32Array.from(xs);

describe('Packer', () => {
  it('cuts the concatenation into blocks of exactly cutoffLen, carrying the remainder across pushes', () => {
    const p = new Packer(4);
    expect(p.push(I([1, 2, 3]))).toEqual([]);
    expect(p.pending).toBe(3);
    expect(p.push(I([4, 5])).map((b) => arr(b))).toEqual([[1, 2, 3, 4]]);
    expect(p.push(I([6, 7, 8, 9, 10])).map((b) => arr(b))).toEqual([[5, 6, 7, 8]]);
    expect(p.flush()).toBe(2); // [9, 10] dropped
    expect(p.pending).toBe(0);
  });

  it('a document longer than several blocks fills them all; plain arrays work too', () => {
    const p = new Packer(3);
    expect(p.push([1, 2, 3, 4, 5, 6, 7]).map((b) => arr(b))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(p.push(I([])).length).toBe(0);
    expect(p.push(I([8, 9])).map((b) => arr(b))).toEqual([[7, 8, 9]]);
  });

  it('matches a second implementation (chunks of the whole concatenation) on random documents', () => {
    let seed = 12345;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const docs = Array.from({ length: 200 }, () => I(Array.from({ length: 1 + rand(40) }, () => rand(1000))));
    const flat = docs.flatMap((d) => Array.from(d));
    const cutoff = 17;
    const expected: number[][] = [];
    for (let i = 0; i + cutoff <= flat.length; i += cutoff) expected.push(flat.slice(i, i + cutoff));
    const { blocks, droppedTokens } = packDocs(docs, cutoff);
    expect(blocks.map((b) => arr(b))).toEqual(expected);
    expect(droppedTokens).toBe(flat.length % cutoff);
  });

  it('overwrites the first token of every block with BOS (LLaMA-Factory)', () => {
    const { blocks } = packDocs([I([1, 2, 3]), I([4, 5]), I([6, 7, 8, 9, 10])], 4, { bosId: 99 });
    expect(blocks.map((b) => arr(b))).toEqual([
      [99, 2, 3, 4],
      [99, 6, 7, 8],
    ]);
  });

  it('segment ids count document pieces per block; positions restart at block and document starts', () => {
    const { blocks } = packDocs([I([1, 2, 3]), I([4, 5]), I([6, 7, 8, 9, 10])], 4, { trackSegments: true });
    // block 1: doc A (1 2 3) | doc B (4);  block 2: rest of B (5) | doc C (6 7 8)
    expect(blocks.map((b) => arr(b, 'segmentIds'))).toEqual([
      [1, 1, 1, 2],
      [1, 2, 2, 2],
    ]);
    expect(blocks.map((b) => arr(b, 'positionIds'))).toEqual([
      [0, 1, 2, 0],
      [0, 0, 1, 2],
    ]);
    expect(packDocs([I([1, 2])], 2).blocks[0].segmentIds).toBeUndefined();
  });

  it('state() / restore() resumes with identical blocks, segments included', () => {
    const docs = [I([1, 2, 3]), I([4, 5, 6, 7, 8]), I([9]), I([10, 11, 12, 13]), I([14, 15, 16, 17, 18, 19])];
    const whole = packDocs(docs, 4, { trackSegments: true, bosId: 0 }).blocks;
    const a = new Packer(4, { trackSegments: true, bosId: 0 });
    const got: PackedBlock[] = [];
    for (const d of docs.slice(0, 3)) got.push(...a.push(d));
    const saved = JSON.parse(JSON.stringify(a.state()));
    expect(saved).toEqual({ cutoffLen: 4, carry: [9], docStarts: [0] });
    const b = new Packer(4, { trackSegments: true, bosId: 0 });
    b.restore(saved);
    for (const d of docs.slice(3)) got.push(...b.push(d));
    expect(got).toEqual(whole);
  });

  it('rejects a state from another cutoff_len and bad sizes', () => {
    expect(() => new Packer(4).restore({ cutoffLen: 8, carry: [1], docStarts: [0] })).toThrow(/cutoff_len 8, but cutoff_len is now 4/);
    expect(() => new Packer(4).restore({ cutoffLen: 4, carry: [1, 2, 3, 4], docStarts: [0] })).toThrow(/invalid packer state/);
    expect(() => new Packer(0)).toThrow(/cutoff_len/);
  });
});

describe('truncation (packing: false)', () => {
  const tok = loadTokenizer(path.join(__dirname, '..', '..', 'examples', 'tiny-llama'));

  it('truncateDoc: bos_token + text + eos_token tokenized as text, then cut to cutoff_len', () => {
    expect(Array.from(truncateDoc('Hello world', tok, 10))).toEqual([1, 22557, 1526, 2]);
    expect(Array.from(truncateDoc('Hello world', tok, 2))).toEqual([1, 22557]);
    expect(Array.from(truncateDoc('Hello world', { ...tok, addBosToken: false }, 10))).toEqual([22557, 1526, 2]);
  });

  it('truncateIds on encodeDoc output gives the same ids as truncateDoc', () => {
    for (const text of ['Hello world', '', 'In the beginning God created the heaven and the earth.', ' leading space', 'a</s>b']) {
      for (const cutoff of [1, 3, 50]) {
        expect(Array.from(truncateIds(tok.encodeDoc(text), cutoff, tok.bosId))).toEqual(Array.from(truncateDoc(text, tok, cutoff)));
      }
    }
    expect(Array.from(truncateIds(I([5, 6, 7]), 2))).toEqual([5, 6]);
  });
});
