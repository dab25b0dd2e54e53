import { readFileSync } from 'node:fs';
import path from 'node:path';
import { countWords, gopherQuality, gopherQualityOptions, type GopherQualityOptions } from './gopher-quality';
import { countOf, hasAlpha, pyLen, pyLstrip, pyRstrip, pySplitlines, splitIntoWordsByRules } from './text';
import { PUNCTUATION_SET } from './text-sets';

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

/** The rules written plainly over the Python-string helpers (the filter's first form): a second implementation. */
function reference(text: string, o: GopherQualityOptions, stopWords: ReadonlySet<string>): true | string {
  const words = splitIntoWordsByRules(text);
  const nonSymbol = words.filter((w) => ![...w].every((c) => PUNCTUATION_SET.has(c)));
  if (o.min_doc_words && nonSymbol.length < o.min_doc_words) return 'gopher_short_doc';
  if (o.max_doc_words && nonSymbol.length > o.max_doc_words) return 'gopher_long_doc';
  if (words.length === 0) return 'gopher_short_doc';
  const avg = nonSymbol.length === 0 ? NaN : nonSymbol.reduce((s, w) => s + pyLen(w), 0) / nonSymbol.length;
  if (o.min_avg_word_length && avg < o.min_avg_word_length) return 'gopher_below_avg_threshold';
  if (o.max_avg_word_length && avg > o.max_avg_word_length) return 'gopher_above_avg_threshold';
  if (o.max_symbol_word_ratio && countOf(text, '#') / words.length > o.max_symbol_word_ratio) return 'gopher_too_many_hashes';
  if (o.max_symbol_word_ratio && (countOf(text, '...') + countOf(text, '\u2026')) / words.length > o.max_symbol_word_ratio) return 'gopher_too_many_ellipsis';
  const lines = pySplitlines(text);
  if (lines.length > 0) {
    const bullets = lines.filter((l) => pyLstrip(l).startsWith('\u2022') || pyLstrip(l).startsWith('-')).length;
    const ellipsis = lines.filter((l) => pyRstrip(l).endsWith('...') || pyRstrip(l).endsWith('\u2026')).length;
    if (o.max_bullet_lines_ratio && bullets / lines.length > o.max_bullet_lines_ratio) return 'gopher_too_many_bullets';
    if (o.max_ellipsis_lines_ratio && ellipsis / lines.length > o.max_ellipsis_lines_ratio) return 'gopher_too_many_end_ellipsis';
  }
  if (o.max_non_alpha_words_ratio && words.filter(hasAlpha).length / words.length < o.max_non_alpha_words_ratio) return 'gopher_below_alpha_threshold';
  if (o.min_stop_words && [...new Set(words)].filter((w) => stopWords.has(w)).length < o.min_stop_words) return 'gopher_enough_stop_words';
  return true;
}

describe('gopher_quality = its plain form', () => {
  const kjv = readFileSync(path.join(__dirname, '../../../examples/data/kjv_demo.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { text: string }).text);
  // Loose thresholds too, so that the later rules decide some documents.
  const loose = gopherQualityOptions.parse({ min_doc_words: 3, max_bullet_lines_ratio: 0.3, max_ellipsis_lines_ratio: 0.2, max_symbol_word_ratio: 0.05 });
  const LINES = ['the and of it', '  - a bullet line', '\u2022 bullet', 'ends with...  ', 'ends\u2026', '\u{1D400}\u{1D401} wide letters', 'caf\u00e9 \u00df', '## 1234 5678', '', '   ', '... ...'];
  const BREAKS = ['\n', '\r\n', '\r', '\u2028', '\x85', '\n\n'];
  let seed = 99;
  const next = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
  const random = Array.from({ length: 400 }, () => Array.from({ length: 1 + next(12) }, () => LINES[next(LINES.length)] + BREAKS[next(BREAKS.length)]).join(''));

  it.each([['defaults', o], ['loose thresholds', loose]])('on the demo corpus and random line mixes (%s)', (_name, opts) => {
    const stopWords = new Set(opts.stop_words);
    for (const t of [...kjv, ...random]) expect([t, gopherQuality(t, opts, stopWords)]).toEqual([t, reference(t, opts, stopWords)]);
  });
});

describe('countWords (ASCII words counted as ranges of the text) = counts over the rules\' word list', () => {
  // Words the fast path gives as ranges ("word", "(a", "b,", "_x", "A9." …) next to ones it gives as
  // strings, odd white space and non-ASCII; stop lists with ASCII words, '_'-words and punctuation.
  const PIECES = ['the', 'And', 'of', 'x', 'I', '42', '3.14', '_', '__', '_x', 'x_', '9a', 'caf\u00e9', '\u{1D400}b', '(a', 'b)', 'c,', 'd.', 'e;', 'f:', 'g?', 'h!', '(the)', 'to.', '...', '#', "'s", '"', '--', '(', ')', ','];
  const SPACES = [' ', ' ', ' ', '', '\n', '\t', '  ', '\u00a0', '. ', '.\n'];
  // xorshift32: every piece and space comes up (a power-of-two LCG's low bits would cycle through a few).
  let seed = 5;
  const next = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const texts = Array.from({ length: 1500 }, () => Array.from({ length: 1 + next(30) }, () => PIECES[next(PIECES.length)] + SPACES[next(SPACES.length)]).join(''));
  const stopLists = [['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with'], ['_', '__', '_x', '(', ',', 'x', 'And', '42', 'caf\u00e9'], []];

  it.each(stopLists.map((l) => [l]))('stop words %j', (list) => {
    const stopWords = new Set(list);
    for (const need of [2, 100]) {
      for (const t of texts) {
        const words = splitIntoWordsByRules(t);
        const nonSymbol = words.filter((w) => ![...w].every((ch) => PUNCTUATION_SET.has(ch)));
        const expected = {
          words: words.length,
          nonSymbol: nonSymbol.length,
          nonSymbolChars: nonSymbol.reduce((s, w) => s + pyLen(w), 0),
          alpha: words.filter(hasAlpha).length,
          stops: Math.min(need, new Set(words.filter((w) => stopWords.has(w))).size),
        };
        expect([t, countWords(t, stopWords, need)]).toEqual([t, expected]);
      }
    }
  });
});
