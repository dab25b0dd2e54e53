/**
 * c4_quality: datatrove's C4QualityFilter (filters/c4_filters.py), same defaults and reasons. It works
 * line by line and rewrites the document to the lines it keeps: lines with a word over 1000
 * characters, without terminal punctuation (or ending in "..."), with fewer than 3 words, mentioning
 * javascript or a cookie/terms-of-use phrase are removed (citations like "[1]" are cut out first);
 * a document with "lorem ipsum" or a "{" is dropped, and so is one left with fewer than 5 sentences.
 */
import type { RecordBatch } from 'apache-arrow';
import { z } from 'zod';
import { defineActor, type ActorContext } from '../api';
import { docsBatch, readDocs } from '../edges';
import { pySplit, pySplitlines, pyLen, pyStrip, splitSentences } from './text';

const CITATION = /\[\d*]|\[edit]|\[citation needed]/g;
const END_PUNCTUATION = ['.', '?', '!', '"', "'"];
const POLICY = ['terms of use', 'privacy policy', 'cookie policy', 'uses cookies', 'use of cookies', 'use cookies'];

export const c4QualityOptions = z
  .object({
    split_paragraph: z.boolean().default(true).describe('work on lines (true, as C4) or on sentences'),
    remove_citations: z.boolean().default(true).describe('cut out Wikipedia-style citations'),
    filter_no_terminal_punct: z.boolean().default(true).describe('remove lines not ending in . ? ! " \''),
    min_num_sentences: z.number().int().default(5).describe('drop documents with fewer sentences left (-1: off)'),
    min_words_per_line: z.number().int().default(3).describe('remove lines with fewer words (-1: off)'),
    max_word_length: z.number().int().default(1000).describe('remove lines with a longer word (-1: off)'),
    filter_lorem_ipsum: z.boolean().default(true).describe('drop documents containing "lorem ipsum"'),
    filter_javascript: z.boolean().default(true).describe('remove lines mentioning javascript'),
    filter_curly_bracket: z.boolean().default(true).describe('drop documents containing "{"'),
    filter_policy: z.boolean().default(true).describe('remove lines with cookie / terms-of-use phrases'),
  })
  .strict();

export type C4QualityOptions = z.output<typeof c4QualityOptions>;

/** The kept text, or `{ drop: reason }`. */
export function c4Quality(text: string, o: C4QualityOptions): { text: string } | { drop: string } {
  const lines = o.split_paragraph ? pySplitlines(text) : splitSentences(text);
  let sentences = 0;
  const kept: string[] = [];
  for (const raw of lines) {
    let line = pyStrip(raw);
    const words = pySplit(line);
    if (o.max_word_length !== -1 && words.some((w) => pyLen(w) > o.max_word_length)) continue;
    if (o.remove_citations) line = line.replace(CITATION, '');
    if (o.filter_no_terminal_punct && (!END_PUNCTUATION.some((p) => line.endsWith(p)) || line.endsWith('...'))) continue;
    if (words.length < o.min_words_per_line) continue;
    const lower = line.toLowerCase();
    if (o.filter_lorem_ipsum && lower.includes('lorem ipsum')) return { drop: 'lorem_ipsum' };
    if (o.filter_javascript && lower.includes('javascript')) continue;
    if (o.filter_curly_bracket && line.includes('{')) return { drop: 'curly_bracket' };
    if (o.filter_policy && POLICY.some((p) => lower.includes(p))) continue;
    if (o.min_num_sentences !== -1) sentences += o.split_paragraph ? splitSentences(line).length : 1;
    kept.push(line);
  }
  if (sentences < o.min_num_sentences) return { drop: 'too_few_sentences' };
  return { text: pyStrip(kept.join(o.split_paragraph ? '\n' : ' ')) };
}

export default defineActor({
  name: 'c4_quality',
  description: "C4's line and document rules (datatrove C4QualityFilter); rewrites documents to their kept lines",
  input: 'docs',
  output: 'docs',
  options: c4QualityOptions,
  init: (o: C4QualityOptions) => o,
  process(batch: RecordBatch, o: C4QualityOptions, ctx: ActorContext) {
    const out = [];
    for (const d of readDocs(batch)) {
      const r = c4Quality(d.text, o);
      if ('drop' in r) ctx.drop(r.drop, d);
      else out.push({ ...d, text: r.text });
    }
    return docsBatch(out);
  },
});
