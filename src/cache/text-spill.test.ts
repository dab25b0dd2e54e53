import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TextSpill } from './text-spill';

describe('TextSpill', () => {
  it('gives back each document\'s text and source in any order, multi-byte text and texts past the write buffer included', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ptflow-text-spill-')), 'docs.bin');
    const s = new TextSpill(file);
    const big = 'ä'.repeat(3 << 20); // 6 MiB of UTF-8, more than the 4 MiB buffer
    const docs: [number, string, string][] = [[0, 'héllo wörld 👋', 'a.jsonl'], [2, big, 'b.jsonl'], [1, '', 'a.jsonl'], [3000, 'far', 'c.jsonl']];
    for (const [i, text, source] of docs) s.put(i, text, source);
    s.put(0, 'a second copy is not stored', 'x');
    s.seal();
    for (const [i, text, source] of [...docs].reverse()) expect(s.get(i)).toEqual({ text, source });
    expect(() => s.get(5)).toThrow(/document 5 was not read/);
    s.close();
    expect(existsSync(file)).toBe(false);
  });
});
