/**
 * A BPE tokenizer.json cut down to `vocabSize` ids, so a bench can train the reference model (vocab
 * 8192) on real text with the demo tokenizer (32000). A Llama vocabulary keeps its single characters
 * at the end (`▁`, `e`, `t`, … from id 29871), so cutting at an id would leave no merge to start
 * from. Kept, and numbered anew in their old order: the ids below 259 (the special and byte-fallback
 * tokens `<0x00>`…`<0xFF>`), the single ASCII characters and `▁`, then the lowest other ids until
 * `vocabSize`. Of the merges (their order is their priority), those whose two parts and result are
 * all kept. Every text still encodes (other characters fall back to bytes), into ids below
 * `vocabSize`, and decodes back to itself.
 */

interface BpeTokenizerJson {
  model: { type: string; vocab: Record<string, number>; merges: (string | [string, string])[] };
  added_tokens?: { id: number; content: string }[];
}

const BYTE_FALLBACK_END = 259;

export function truncatedTokenizer<T extends BpeTokenizerJson>(tok: T, vocabSize: number): T {
  if (tok.model.type !== 'BPE') throw new Error(`truncatedTokenizer: a ${tok.model.type} model, BPE expected`);
  const byId = Object.entries(tok.model.vocab).sort((a, b) => a[1] - b[1]);
  const base = (s: string): boolean => s === '▁' || (s.length === 1 && s.charCodeAt(0) < 128);
  const kept = new Set(byId.filter(([s, id]) => id < BYTE_FALLBACK_END || base(s)).map(([s]) => s));
  for (const [s] of byId) {
    if (kept.size >= vocabSize) break;
    kept.add(s);
  }
  // A Map, not `in` on an object: `in` also finds inherited names ("valueOf", "constructor").
  const ids = new Map<string, number>();
  for (const [s] of byId) if (kept.has(s)) ids.set(s, ids.size);
  const merges = tok.model.merges.filter((m) => {
    const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m;
    return ids.has(a) && ids.has(b) && ids.has(a + b);
  });
  const added = tok.added_tokens?.filter((t) => ids.has(t.content)).map((t) => ({ ...t, id: ids.get(t.content) as number }));
  return { ...tok, model: { ...tok.model, vocab: Object.fromEntries(ids), merges }, ...(added ? { added_tokens: added } : {}) };
}
