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
import { countOf, hasAlpha, pyLen, pyLstrip, pyRstrip, pySplitlines, splitIntoWords } from './text';
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

const isSymbolWord = (w: string): boolean => {
  for (const ch of w) if (!PUNCTUATION_SET.has(ch)) return false;
  return true;
};

/** true, or the reason (datatrove's) the document is dropped. */
export function gopherQuality(text: string, o: GopherQualityOptions, stop: ReadonlySet<string>): true | string {
  const words = splitIntoWords(text);
  const nWords = words.length;
  const nonSymbol = words.filter((w) => !isSymbolWord(w));
  if (o.min_doc_words && nonSymbol.length < o.min_doc_words) return 'gopher_short_doc';
  if (o.max_doc_words && nonSymbol.length > o.max_doc_words) return 'gopher_long_doc';
  if (nWords === 0) return 'gopher_short_doc'; // datatrove divides by zero here; only reachable with min_doc_words off
  // np.mean([]) is nan: every comparison false, as below.
  const avg = nonSymbol.length === 0 ? NaN : nonSymbol.reduce((s, w) => s + pyLen(w), 0) / nonSymbol.length;
  if (o.min_avg_word_length && avg < o.min_avg_word_length) return 'gopher_below_avg_threshold';
  if (o.max_avg_word_length && avg > o.max_avg_word_length) return 'gopher_above_avg_threshold';
  if (o.max_symbol_word_ratio && countOf(text, '#') / nWords > o.max_symbol_word_ratio) return 'gopher_too_many_hashes';
  if (o.max_symbol_word_ratio && (countOf(text, '...') + countOf(text, '…')) / nWords > o.max_symbol_word_ratio) return 'gopher_too_many_ellipsis';
  const lines = pySplitlines(text);
  if (lines.length > 0) {
    let bullets = 0;
    let ellipsis = 0;
    for (const l of lines) {
      const left = pyLstrip(l);
      if (left.startsWith('•') || left.startsWith('-')) bullets++;
      const right = pyRstrip(l);
      if (right.endsWith('...') || right.endsWith('…')) ellipsis++;
    }
    if (o.max_bullet_lines_ratio && bullets / lines.length > o.max_bullet_lines_ratio) return 'gopher_too_many_bullets';
    if (o.max_ellipsis_lines_ratio && ellipsis / lines.length > o.max_ellipsis_lines_ratio) return 'gopher_too_many_end_ellipsis';
  }
  if (o.max_non_alpha_words_ratio && words.filter(hasAlpha).length / nWords < o.max_non_alpha_words_ratio) return 'gopher_below_alpha_threshold';
  if (o.min_stop_words) {
    let found = 0;
    for (const w of new Set(words)) if (stop.has(w)) found++;
    if (found < o.min_stop_words) return 'gopher_enough_stop_words';
  }
  return true;
}

export default defineFilter({
  name: 'gopher_quality',
  description: "Gopher's quality rules (datatrove GopherQualityFilter)",
  options: gopherQualityOptions,
  init: (o) => ({ o, stop: new Set(o.stop_words) }),
  keep: (text, _doc, s) => gopherQuality(text, s.o, s.stop),
});
