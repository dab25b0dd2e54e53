/**
 * gopher_repetition: datatrove's GopherRepetitionFilter (filters/gopher_repetition_filter.py), same
 * defaults and reasons: duplicated paragraphs / lines (as a fraction of them and of characters), the
 * most frequent 2–4-gram's share of characters, and the share of characters in repeated 5–10-grams.
 */
import { z } from 'zod';
import { defineFilter } from '../api';
import { pyLen, pyStrip } from './text';
import { splitIntoWords } from './word-split';

const frac = (def: number, help: string) => z.number().nullable().default(def).describe(help);
const pairs = (def: [number, number][], help: string) => z.array(z.tuple([z.number().int().min(1), z.number()])).default(def).describe(help);

export const gopherRepetitionOptions = z
  .object({
    dup_line_frac: frac(0.3, 'most duplicated lines, as a fraction of lines'),
    dup_para_frac: frac(0.3, 'most duplicated paragraphs, as a fraction of paragraphs'),
    dup_line_char_frac: frac(0.2, 'most characters in duplicated lines'),
    dup_para_char_frac: frac(0.2, 'most characters in duplicated paragraphs'),
    top_n_grams: pairs([[2, 0.2], [3, 0.18], [4, 0.16]], '[n, most characters in the most frequent n-gram]'),
    dup_n_grams: pairs([[5, 0.15], [6, 0.14], [7, 0.13], [8, 0.12], [9, 0.11], [10, 0.1]], '[n, most characters in repeated n-grams]'),
  })
  .strict();

export type GopherRepetitionOptions = z.output<typeof gopherRepetitionOptions>;

/** [duplicate elements, their characters] (datatrove find_duplicates). */
export function findDuplicates(x: readonly string[]): [number, number] {
  const seen = new Set<string>();
  let chars = 0;
  let elements = 0;
  for (const e of x) {
    if (seen.has(e)) {
      chars += pyLen(e);
      elements++;
    } else seen.add(e);
  }
  return [elements, chars];
}

/** Characters of the most frequent n-gram × its count (first one seen wins a tie, as Counter.most_common). */
function topDuplicate(words: readonly string[], n: number): number {
  const counts = new Map<string, number>();
  let best = '';
  let bestCount = 0;
  for (let i = 0; i + n <= words.length; i++) {
    const g = words.slice(i, i + n).join(' ');
    const c = (counts.get(g) ?? 0) + 1;
    counts.set(g, c);
    if (c > bestCount) {
      bestCount = c;
      best = g;
    }
  }
  // A later n-gram reaching the same count does not replace the earlier: Counter keeps insertion order.
  for (const [g, c] of counts) {
    if (c === bestCount) {
      best = g;
      break;
    }
  }
  return pyLen(best) * bestCount;
}

/** Characters in repeated n-grams, skipping past each repeat (datatrove find_all_duplicate). */
function allDuplicate(words: readonly string[], n: number): number {
  const seen = new Set<string>();
  let repeated = 0;
  let i = 0;
  while (i < words.length - n + 1) {
    const g = words.slice(i, i + n).join('');
    if (seen.has(g)) {
      repeated += pyLen(g);
      i += n;
    } else {
      seen.add(g);
      i++;
    }
  }
  return repeated;
}

export function gopherRepetition(text: string, o: GopherRepetitionOptions): true | string {
  const len = pyLen(text);
  if (len === 0) return 'dup_para_char_frac'; // datatrove divides by zero here
  const paragraphs = pyStrip(text).split(/\n{2,}/);
  const [pd, pc] = findDuplicates(paragraphs);
  if (o.dup_para_frac && pd / paragraphs.length > o.dup_para_frac) return 'dup_para_frac';
  if (o.dup_para_char_frac && pc / len > o.dup_para_char_frac) return 'dup_para_char_frac';
  const lines = text.split(/\n+/);
  const [ld, lc] = findDuplicates(lines);
  if (o.dup_line_frac && ld / lines.length > o.dup_line_frac) return 'dup_line_frac';
  if (o.dup_line_char_frac && lc / len > o.dup_line_char_frac) return 'dup_line_char_frac';
  const words = splitIntoWords(text);
  for (const [n, f] of o.top_n_grams) {
    if (words.length < n) continue;
    if (topDuplicate(words, n) / len > f) return `top_${n}_gram`;
  }
  for (const [n, f] of o.dup_n_grams) {
    if (allDuplicate(words, n) / len > f) return `duplicated_${n}_n_grams`;
  }
  return true;
}

export default defineFilter({
  name: 'gopher_repetition',
  description: "Gopher's repetition rules (datatrove GopherRepetitionFilter)",
  options: gopherRepetitionOptions,
  init: (o) => o,
  keep: (text, _doc, o) => gopherRepetition(text, o),
});
