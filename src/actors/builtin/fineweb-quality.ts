/**
 * fineweb_quality: datatrove's FineWebQualityFilter (filters/fineweb_quality_filter.py), same defaults
 * and reasons: share of lines ending in terminal punctuation ≥ 0.12, share of short lines (≤ 30
 * characters) ≤ 0.67, characters in duplicated lines ≤ 0.01 of the text, newlines per word ≤ 0.3.
 */
import { z } from 'zod';
import { defineFilter } from '../api';
import { findDuplicates } from './gopher-repetition';
import { countOf, pyLen, pyStrip } from './text';
import { splitIntoWords } from './word-split';
import { TERMINAL_PUNCTUATION } from './text-sets';

export const finewebQualityOptions = z
  .object({
    line_punct_thr: z.number().default(0.12).describe('fewest lines ending in terminal punctuation, as a fraction of lines'),
    line_punct_exclude_zero: z.boolean().default(false).describe('do not drop documents where no line ends in punctuation'),
    stop_chars: z.array(z.string()).nullable().default(null).describe('line-ending characters that count (null = datatrove TERMINAL_PUNCTUATION)'),
    short_line_thr: z.number().default(0.67).describe('most short lines, as a fraction of lines'),
    short_line_length: z.number().int().default(30).describe('a line this long or shorter is short'),
    char_duplicates_ratio: z.number().default(0.01).describe('most characters in duplicated lines'),
    new_line_ratio: z.number().default(0.3).describe('most newlines per word'),
  })
  .strict();

export type FinewebQualityOptions = z.output<typeof finewebQualityOptions>;

/** Python `line.endswith(tuple(stops))`. */
function endsWithAny(line: string, stops: ReadonlySet<string>): boolean {
  const low = line.charCodeAt(line.length - 1);
  const last = low >= 0xdc00 && low <= 0xdfff ? line.slice(-2) : line.slice(-1);
  if (last !== '' && stops.has(last)) return true;
  for (const s of stops) if (pyLen(s) > 1 && line.endsWith(s)) return true;
  return false;
}

export function finewebQuality(text: string, o: FinewebQualityOptions, stops: ReadonlySet<string>): true | string {
  const lines = text.split('\n').filter((l) => pyStrip(l) !== '');
  if (lines.length === 0) return 'empty';
  let ratio = lines.filter((l) => endsWithAny(l, stops)).length / lines.length;
  if (ratio < o.line_punct_thr && !(ratio === 0 && o.line_punct_exclude_zero)) return 'line_punct_ratio';
  ratio = lines.filter((l) => pyLen(l) <= o.short_line_length).length / lines.length;
  if (ratio > o.short_line_thr) return 'short_line_ratio';
  ratio = findDuplicates(lines)[1] / pyLen(text.replaceAll('\n', ''));
  if (ratio > o.char_duplicates_ratio) return 'char_dup_ratio';
  const words = splitIntoWords(text);
  if (words.length === 0 || countOf(text, '\n') / words.length > o.new_line_ratio) return 'list_ratio';
  return true;
}

export default defineFilter({
  name: 'fineweb_quality',
  description: "FineWeb's quality rules (datatrove FineWebQualityFilter)",
  options: finewebQualityOptions,
  init: (o) => ({ o, stops: new Set(o.stop_chars ?? TERMINAL_PUNCTUATION) }),
  keep: (text, _doc, s) => finewebQuality(text, s.o, s.stops),
});
