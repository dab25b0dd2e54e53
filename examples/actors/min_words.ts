/**
 * A user-written document filter: drops documents with fewer than `min_words` words, and documents
 * that mention any of `banned` (case-insensitive). Used by examples/filtered.yaml:
 *
 *   - actor: ./actors/min_words.ts
 *     after: exact_dedup
 *     options: { min_words: 40, banned: [begat] }
 */
import { defineFilter, z } from 'ptflow';

export default defineFilter({
  name: 'min_words',
  options: z.object({
    min_words: z.number().int().min(0).default(20),
    banned: z.array(z.string()).default([]),
  }),
  init: (o) => ({ min: o.min_words, banned: o.banned.map((w) => w.toLowerCase()) }),
  keep(text, _doc, s) {
    if (text.split(/\s+/).filter(Boolean).length < s.min) return 'too_few_words';
    const lower = text.toLowerCase();
    if (s.banned.some((w) => lower.includes(w))) return 'banned_word';
    return true;
  },
});
