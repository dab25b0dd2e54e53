import { gopherQuality, gopherQualityOptions } from './gopher-quality';

// Each rule on hand-built documents just inside and just outside its default threshold. Words are
// plain ASCII tokens separated by spaces (NLTK keeps each as one word), so counts are easy to derive.
const o = gopherQualityOptions.parse({});
const stop = new Set(o.stop_words);
const run = (text: string): true | string => gopherQuality(text, o, stop);
/** "the and" + n−2 filler words (two distinct stop words, mean length of filler `w`). */
const doc = (n: number, w = 'abcd'): string[] => ['the', 'and', ...Array<string>(n - 2).fill(w)];

describe('gopher_quality (datatrove defaults)', () => {
  it('min_doc_words 50: 50 words kept, 49 dropped', () => {
    expect(run(doc(50).join(' '))).toBe(true);
    expect(run(doc(49).join(' '))).toBe('gopher_short_doc');
  });

  it('words made only of punctuation do not count toward min_doc_words', () => {
    expect(run([...doc(49), '--'].join(' '))).toBe('gopher_short_doc');
  });

  it('max_doc_words 100000: 100000 kept, 100001 dropped', () => {
    expect(run(doc(100000).join(' '))).toBe(true);
    expect(run(doc(100001).join(' '))).toBe('gopher_long_doc');
  });

  it('mean word length ≥ 3: (6 + 24·2 + 24·4)/50 = 3.0 kept, (6 + 25·2 + 23·4)/50 = 2.96 dropped', () => {
    const mix = (short: number): string => ['the', 'and', ...Array<string>(short).fill('ab'), ...Array<string>(48 - short).fill('abcd')].join(' ');
    expect(run(mix(24))).toBe(true);
    expect(run(mix(25))).toBe('gopher_below_avg_threshold');
  });

  it('mean word length ≤ 10: (6 + 34·10 + 14·11)/50 = 10.0 kept, (6 + 33·10 + 15·11)/50 = 10.02 dropped', () => {
    const mix = (ten: number): string => ['the', 'and', ...Array<string>(ten).fill('abcdefghij'), ...Array<string>(48 - ten).fill('abcdefghijk')].join(' ');
    expect(run(mix(34))).toBe(true);
    expect(run(mix(33))).toBe('gopher_above_avg_threshold');
  });

  it("'#' per word ≤ 0.1 ('#' is a word of its own): 5/55 kept, 6/56 dropped", () => {
    expect(run([...doc(50), ...Array<string>(5).fill('#')].join(' '))).toBe(true);
    expect(run([...doc(50), ...Array<string>(6).fill('#')].join(' '))).toBe('gopher_too_many_hashes');
  });

  it("'...' per word ≤ 0.1: 5/55 kept, 6/56 dropped", () => {
    const words = (k: number): string => doc(50).flatMap((w, i) => (i < k ? [w, '...'] : [w])).join(' ');
    expect(run(words(5))).toBe(true);
    expect(run(words(6))).toBe('gopher_too_many_ellipsis');
  });

  it("lines starting with a bullet ≤ 0.9: 9 of 10 kept, 10 of 10 dropped", () => {
    const lines = (bullets: number): string =>
      Array.from({ length: 10 }, (_, i) => `${i < bullets ? '- ' : ''}${i === 0 ? 'the and abcd' : 'abcd abcd abcd'} abcd abcd`).join('\n');
    expect(run(lines(9))).toBe(true);
    expect(run(lines(10))).toBe('gopher_too_many_bullets');
  });

  it("lines ending with an ellipsis ≤ 0.3: 3 of 10 kept, 4 of 10 dropped", () => {
    const lines = (k: number): string =>
      Array.from({ length: 10 }, (_, i) => `${i === 0 ? 'the and abcd' : 'abcd abcd abcd'} abcd abcd${i < k ? '...' : ''}`).join('\n');
    expect(run(lines(3))).toBe(true);
    expect(run(lines(4))).toBe('gopher_too_many_end_ellipsis');
  });

  it('words with a letter ≥ 0.8: 50/62 kept, 50/63 dropped', () => {
    expect(run([...doc(50), ...Array<string>(12).fill('1234')].join(' '))).toBe(true);
    expect(run([...doc(50), ...Array<string>(13).fill('1234')].join(' '))).toBe('gopher_below_alpha_threshold');
  });

  it('≥ 2 distinct stop words: {the, and} kept, {the} dropped', () => {
    expect(run(doc(50).join(' '))).toBe(true);
    expect(run(['the', 'the', ...Array<string>(48).fill('abcd')].join(' '))).toBe('gopher_enough_stop_words');
  });

  it('null turns a rule off', () => {
    const off = gopherQualityOptions.parse({ min_doc_words: null });
    expect(gopherQuality(doc(10).join(' '), off, stop)).toBe(true);
  });
});
