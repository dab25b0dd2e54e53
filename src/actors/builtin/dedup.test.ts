import type { ActorContext } from '../api';
import { docsBatch, readDocs } from '../edges';
import exactDedup from './exact-dedup';
import { HashSet64 } from './hash-table';
import minhashDedup from './minhash-dedup';
import { simplifyTextByRules } from './text';

function ctx(dropped: string[]): ActorContext {
  return { actor: 't', attempt: 0, worker: 0, workers: 1, count: () => undefined, drop: (reason, d) => dropped.push(`${d.id}:${reason}`), log: () => undefined };
}

const batch = (texts: string[], first = 0) => docsBatch(texts.map((text, i) => ({ id: first + i, source: 's', text })));

describe('exact_dedup', () => {
  it('keeps the first of documents equal after normalisation (case, punctuation, digits, spaces, accents)', async () => {
    const dropped: string[] = [];
    const c = ctx(dropped);
    const st = await exactDedup.init!(exactDedup.options!.parse({}), c);
    const out1 = await exactDedup.process(batch(['Hello, World 1!', 'Something else']), st, c);
    const out2 = await exactDedup.process(batch(['hello world 7', 'Héllo   WORLD.. 42', 'new text'], 2), st, c);
    expect(readDocs(out1 as never).map((d) => d.text)).toEqual(['Hello, World 1!', 'Something else']);
    expect(readDocs(out2 as never).map((d) => d.text)).toEqual(['new text']);
    expect(dropped).toEqual(['2:duplicate', '3:duplicate']);
  });

  it('a batch interrupted half-way is rolled back before it is processed again', async () => {
    const dropped: string[] = [];
    const c = ctx(dropped);
    const st = await exactDedup.init!(exactDedup.options!.parse({}), c);
    const failing = { ...c, drop: () => { throw new Error('boom'); } };
    // "a" is new, the second "a" would be dropped → the drop throws mid-batch, after "a" was added.
    await expect(Promise.resolve().then(() => exactDedup.process(batch(['a', 'a', 'b']), st, failing))).rejects.toThrow('boom');
    const again = await exactDedup.process(batch(['a', 'a', 'b']), st, c);
    expect(readDocs(again as never).map((d) => d.text)).toEqual(['a', 'b']);
    expect(dropped).toEqual(['1:duplicate']);
  });

  it('keeps what a set of simplify_text keys keeps, over texts read from the batch bytes (ASCII and not, at any offset)', async () => {
    const stems = ['Lorem 12,5 ipsum', 'lorem 7 IPSUM!', 'the  end.', 'The end', 'café crème', 'CAFE creme', 'a-b_c', 'a b c', '3.14.15', '9 9', 'x'];
    const texts: string[] = [];
    for (let i = 0; i < 120; i++) texts.push(`${stems[(i * 7) % stems.length]}${i % 3 === 0 ? '' : ` ${(i * 5) % 11}`}${i % 4 === 0 ? ' ...' : ''}`);
    const seen = new Set<string>();
    const expected = texts.flatMap((t, i) => {
      const key = simplifyTextByRules(t);
      if (seen.has(key)) return [];
      seen.add(key);
      return [i];
    });
    const c = ctx([]);
    const st = await exactDedup.init!(exactDedup.options!.parse({}), c);
    const out = await exactDedup.process(batch(texts), st, c);
    expect(readDocs(out as never).map((d) => Number(d.id))).toEqual(expected);
    expect(expected.length).toBeLessThan(texts.length);
  });

  it('stops with a clear error past max_documents', async () => {
    const c = ctx([]);
    const st = await exactDedup.init!(exactDedup.options!.parse({ max_documents: 2 }), c);
    await exactDedup.process(batch(['a', 'b', 'a']), st, c);
    await expect(Promise.resolve().then(() => exactDedup.process(batch(['c']), st, c))).rejects.toThrow(/more than max_documents \(2\)/);
  });
});

describe('HashSet64', () => {
  it('grows up to 2 × maxEntries slots (16 bytes per entry at most) and undoes inserts exactly', () => {
    const s = new HashSet64(1000, 16);
    s.mark();
    for (let i = 0; i < 1000; i++) {
      s.reserve(1);
      expect(s.add(i * 7919, i)).toBe(true);
    }
    expect(s.bytes).toBe(2048 * 8);
    expect(s.full).toBe(true);
    expect(s.add(7919 * 5, 5)).toBe(false);
    const t = new HashSet64(100, 256);
    for (let i = 0; i < 50; i++) t.add((i + 1) & 0xff, 0); // collisions with the entries below in a 256-slot table
    t.mark();
    for (let i = 50; i < 80; i++) t.add(i & 0x0f, 1);
    t.undo();
    expect(t.size).toBe(50);
    for (let i = 0; i < 50; i++) expect(t.has((i + 1) & 0xff, 0)).toBe(true);
    for (let i = 50; i < 80; i++) expect(t.has(i & 0x0f, 1)).toBe(false);
  });
});

describe('minhash_dedup (5-grams, 14 bands × 8 rows)', () => {
  // Letters only: simplify_text turns every digit into 0.
  const word = (i: number): string => String.fromCharCode(97 + (i % 26)) + String.fromCharCode(97 + Math.floor(i / 26) % 26) + String.fromCharCode(97 + Math.floor(i / 676));
  const words = (n: number, salt: string): string => Array.from({ length: n }, (_, i) => `${salt}${word(i)}`).join(' ');

  it('drops a near duplicate (1 word in 300 changed), keeps unrelated and short documents', async () => {
    const dropped: string[] = [];
    const c = ctx(dropped);
    const st = await minhashDedup.init!(minhashDedup.options!.parse({}), c);
    const a = words(300, 'w');
    const nearA = a.replace('wfaa', 'changed');
    const out = await minhashDedup.process(batch([a, words(300, 'v'), nearA, 'too short', 'too short']), st, c);
    expect(readDocs(out as never).map((d) => d.id)).toEqual([0n, 1n, 3n, 4n]);
    expect(dropped).toEqual(['2:near_duplicate']);
    expect(st.bands).toHaveLength(14);
    expect(st.a).toHaveLength(112);
  });
});
