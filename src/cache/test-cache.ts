/**
 * Test helper: writes a split of tokenized documents as Arrow parts (PartWriter, small record batches
 * so a part holds several) and returns the parts as index.json would list them.
 */
import * as fs from 'node:fs';
import path from 'node:path';
import type { PartFile } from '../../schemas/token-cache';
import { Rng } from '../data/rng';
import { PartWriter } from './arrow-part';
import { partFile } from './layout';

/** `n` documents of 1..maxLen tokens (ids < 1000), seeded. */
export function randomDocs(n: number, maxLen: number, seed: number): Int32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Int32Array.from({ length: 1 + rng.nextBelow(maxLen) }, () => rng.nextBelow(1000)));
}

/** Write `docs` as `parts` parts of `split` under `dir` (record batches of at most `batchDocs` documents). */
export async function writeSplit(dir: string, split: 'train' | 'validation', docs: Int32Array[], parts: number, batchDocs = 5): Promise<PartFile[]> {
  const out: PartFile[] = [];
  fs.mkdirSync(path.join(dir, split), { recursive: true });
  for (let r = 0; r < parts; r++) {
    const first = Math.floor((docs.length * r) / parts);
    const end = Math.floor((docs.length * (r + 1)) / parts);
    const rel = partFile(split, r, parts);
    const w = new PartWriter(path.join(dir, rel), { docs: batchDocs, tokens: 1 << 20 });
    for (let d = first; d < end; d++) w.add(docs[d]);
    const st = await w.close();
    out.push({ file: rel, rank: r, first, documents: st.documents, tokens: st.tokens, bytes: st.bytes, content_sha256: st.contentSha256 });
  }
  return out;
}
