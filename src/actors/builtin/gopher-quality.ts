/**
 * gopher_quality: datatrove's GopherQualityFilter (filters/gopher_quality_filter.py), same defaults,
 * same order of rules, same reasons. Set an option to null (or 0) to turn its rule off, as datatrove
 * does with None.
 *
 *   words 50–100 000 (non-symbol words) · mean word length 3–10 · '#' and ellipsis per word ≤ 0.1 ·
 *   bullet lines ≤ 0.9 · lines ending in an ellipsis ≤ 0.3 · words with a letter ≥ 0.8 · ≥ 2 stop words
 */
import { z } from 'zod';
import { defineFilter } from '../api';
import { countOf, hasAlpha, isPyWs, pyLen } from './text';
import { forEachWord, type WordSink } from './word-split';
import { PUNCTUATION_SET } from './text-sets';

const STOP_WORDS = ['the', 'be', 'to', 'of', 'and', 'that', 'have', 'with'];

const opt = (def: number, help: string) => z.number().nullable().default(def).describe(help);

export const gopherQualityOptions = z
  .object({
    min_doc_words: opt(50, 'fewest words (not counting words made only of punctuation)'),
    max_doc_words: opt(100000, 'most words'),
    min_avg_word_length: opt(3, 'shortest mean word length'),
    max_avg_word_length: opt(10, 'longest mean word length'),
    max_symbol_word_ratio: opt(0.1, "most '#' (and, separately, '...'/'…') per word"),
    max_bullet_lines_ratio: opt(0.9, "most lines starting with '•' or '-'"),
    max_ellipsis_lines_ratio: opt(0.3, "most lines ending with '...' or '…'"),
    max_non_alpha_words_ratio: opt(0.8, 'fewest words with a letter, as a fraction of words (datatrove keeps the name)'),
    min_stop_words: opt(2, 'fewest distinct stop words'),
    stop_words: z.array(z.string()).default(STOP_WORDS).describe('the stop words'),
  })
  .strict();

export type GopherQualityOptions = z.output<typeof gopherQualityOptions>;

/** A word made only of punctuation (datatrove: all characters in PUNCTUATION_SET). */
const isSymbolWord = (w: string): boolean => {
  const c = w.charCodeAt(0);
  // ASCII letters and digits are never punctuation: most words stop here.
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)) return false;
  for (const ch of w) if (!PUNCTUATION_SET.has(ch)) return false;
  return true;
};

/** Python `any(c.isalpha() for c in w)`: ASCII by code, the rest by Unicode property. */
function hasLetter(w: string): boolean {
  for (let i = 0; i < w.length; i++) {
    const c = w.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) return true;
    if (c >= 0x80) return hasAlpha(w);
  }
  return false;
}

/** A UTF-16 surrogate (half of a pair, or a lone one). */
const SURROGATE = /[\ud800-\udfff]/;

/** One of str.splitlines()' boundaries (\r\n is one: handled below). */
const BREAK = /[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** Lines (Python splitlines), and those starting with a bullet / ending with an ellipsis once stripped. */
function lineCounts(text: string): { lines: number; bullets: number; ellipsis: number } {
  let lines = 0;
  let bullets = 0;
  let ellipsis = 0;
  const n = text.length;
  let a = 0;
  // The next break found by the regular expression engine (one native scan, not a test per character).
  const br = new RegExp(BREAK.source, 'g');
  while (a < n) {
    br.lastIndex = a;
    const b = br.test(text) ? br.lastIndex - 1 : n;
    lines++;
    let first = a;
    while (first < b && isPyWs(text.charCodeAt(first))) first++;
    let last = b - 1;
    while (last >= first && isPyWs(text.charCodeAt(last))) last--;
    if (first <= last) {
      const c = text.charCodeAt(first);
      if (c === 0x2022 || c === 0x2d) bullets++;
      const e = text.charCodeAt(last);
      if (e === 0x2026 || (e === 0x2e && last - 2 >= first && text.charCodeAt(last - 1) === 0x2e && text.charCodeAt(last - 2) === 0x2e)) ellipsis++;
    }
    // \r\n is one break.
    a = b + (text.charCodeAt(b) === 0x0d && text.charCodeAt(b + 1) === 0x0a ? 2 : 1);
  }
  return { lines, bullets, ellipsis };
}

/** The per-word counts the rules read. */
export interface WordCounts {
  words: number;
  /** Words not made only of punctuation, and their length in code points. */
  nonSymbol: number;
  nonSymbolChars: number;
  /** Words with a letter. */
  alpha: number;
  /** Distinct stop words, counted up to `needStops` (the rule asks for at least that many). */
  stops: number;
}

/** Shortest and longest stop word (UTF-16 units): a word of another length is not looked up. */
const stopLengths = new WeakMap<ReadonlySet<string>, { min: number; max: number }>();
function lengthsOf(stop: ReadonlySet<string>): { min: number; max: number } {
  let l = stopLengths.get(stop);
  if (l === undefined) {
    l = { min: Infinity, max: -1 };
    for (const w of stop) {
      l.min = Math.min(l.min, w.length);
      l.max = Math.max(l.max, w.length);
    }
    stopLengths.set(stop, l);
  }
  return l;
}

/** Counts words as they come from `forEachWord`; an ASCII word given as a range is counted from the text, no string made. */
class WordCounter implements WordSink {
  words = 0;
  nonSymbol = 0;
  nonSymbolChars = 0;
  alpha = 0;
  readonly found = new Set<string>();
  private readonly minStop: number;
  private readonly maxStop: number;

  constructor(
    private readonly stop: ReadonlySet<string>,
    private readonly needStops: number,
    /** Whether the text has surrogates (else a word's .length is its length in code points). */
    private readonly pairs: boolean,
  ) {
    const l = lengthsOf(stop);
    this.minStop = l.min;
    this.maxStop = l.max;
  }

  word(w: string): void {
    this.words++;
    if (hasLetter(w)) this.alpha++;
    if (this.found.size < this.needStops && this.stop.has(w)) this.found.add(w);
    if (isSymbolWord(w)) return;
    this.nonSymbol++;
    this.nonSymbolChars += this.pairs ? pyLen(w) : w.length;
  }

  range(text: string, from: number, to: number): void {
    const len = to - from;
    // One character, or a run starting with '_' (all of it may be punctuation): counted as a string.
    if (len === 1 || text.charCodeAt(from) === 0x5f) return this.word(text.slice(from, to));
    // Else a run of ASCII letters, digits and '_' starting with a letter or digit: never only
    // punctuation, and as long in code points as in UTF-16 units.
    this.words++;
    this.nonSymbol++;
    this.nonSymbolChars += len;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i) | 0x20; // A–Z → a–z; digits and '_' stay outside a–z
      if (c >= 0x61 && c <= 0x7a) {
        this.alpha++;
        break;
      }
    }
    if (this.found.size < this.needStops && len >= this.minStop && len <= this.maxStop) {
      const w = text.slice(from, to);
      if (this.stop.has(w)) this.found.add(w);
    }
  }
}

/** The counts of the words of `text` (splitIntoWords) that gopher_quality's rules read. */
export function countWords(text: string, stop: ReadonlySet<string>, needStops: number): WordCounts {
  const c = new WordCounter(stop, needStops, SURROGATE.test(text));
  forEachWord(text, c);
  return { words: c.words, nonSymbol: c.nonSymbol, nonSymbolChars: c.nonSymbolChars, alpha: c.alpha, stops: c.found.size };
}

/** true, or the reason (datatrove's) the document is dropped. */
export function gopherQuality(text: string, o: GopherQualityOptions, stop: ReadonlySet<string>): true | string {
  const needStops = o.min_stop_words ? o.min_stop_words : 0;
  const { words: nWords, nonSymbol, nonSymbolChars, alpha, stops } = countWords(text, stop, needStops);
  if (o.min_doc_words && nonSymbol < o.min_doc_words) return 'gopher_short_doc';
  if (o.max_doc_words && nonSymbol > o.max_doc_words) return 'gopher_long_doc';
  if (nWords === 0) return 'gopher_short_doc'; // datatrove divides by zero here; only reachable with min_doc_words off
  // np.mean([]) is nan: every comparison false, as below.
  const avg = nonSymbol === 0 ? NaN : nonSymbolChars / nonSymbol;
  if (o.min_avg_word_length && avg < o.min_avg_word_length) return 'gopher_below_avg_threshold';
  if (o.max_avg_word_length && avg > o.max_avg_word_length) return 'gopher_above_avg_threshold';
  if (o.max_symbol_word_ratio && countOf(text, '#') / nWords > o.max_symbol_word_ratio) return 'gopher_too_many_hashes';
  if (o.max_symbol_word_ratio && (countOf(text, '...') + countOf(text, '…')) / nWords > o.max_symbol_word_ratio) return 'gopher_too_many_ellipsis';
  if (o.max_bullet_lines_ratio || o.max_ellipsis_lines_ratio) {
    const l = lineCounts(text);
    if (l.lines > 0) {
      if (o.max_bullet_lines_ratio && l.bullets / l.lines > o.max_bullet_lines_ratio) return 'gopher_too_many_bullets';
      if (o.max_ellipsis_lines_ratio && l.ellipsis / l.lines > o.max_ellipsis_lines_ratio) return 'gopher_too_many_end_ellipsis';
    }
  }
  if (o.max_non_alpha_words_ratio && alpha / nWords < o.max_non_alpha_words_ratio) return 'gopher_below_alpha_threshold';
  if (needStops && stops < needStops) return 'gopher_enough_stop_words';
  return true;
}

export default defineFilter({
  name: 'gopher_quality',
  description: "Gopher's quality rules (datatrove GopherQualityFilter)",
  options: gopherQualityOptions,
  init: (o) => ({ o, stop: new Set(o.stop_words) }),
  keep: (text, _doc, s) => gopherQuality(text, s.o, s.stop),
});
