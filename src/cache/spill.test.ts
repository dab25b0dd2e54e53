import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Spill } from './spill';

describe('Spill', () => {
  it('gives back each document in any order, including ones larger than the write buffer', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ptflow-spill-')), 's.bin');
    const s = new Spill(file, 2); // grows past its first guess
    const docs = new Map<number, Int32Array>([
      [4, Int32Array.from([1, 2, 3])],
      [0, Int32Array.from([7])],
      [2, Int32Array.from({ length: (1 << 20) + 5 }, (_, i) => i * 3 - 1)], // bigger than the 1 Mi-int buffer
      [5, new Int32Array(0)],
      [1, Int32Array.from([-5, 2147483647])],
    ]);
    for (const [k, v] of docs) s.put(k, v);
    s.put(4, Int32Array.from([9, 9])); // a second put of the same document keeps the first
    s.seal();
    for (const k of [1, 2, 5, 0, 4]) expect(Array.from(s.get(k))).toEqual(Array.from(docs.get(k)!));
    expect(s.has(3)).toBe(false);
    expect(() => s.get(3)).toThrow(/document 3 was not tokenized/);
    s.close();
    expect(existsSync(file)).toBe(false);
  });
});
