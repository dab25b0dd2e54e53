/**
 * minhash_dedup: near-duplicate removal within a run, with datatrove's MinhashConfig defaults: word
 * 5-grams of the normalised text (`simplify_text`, then word_tokenize), each hashed with sha1_hash64,
 * 14 bands × 8 rows of min-hashes `((shingle·a + b) mod 2^64) mod (2^61 − 1)` (numpy's uint64 wrap, then
 * the Mersenne prime, as datatrove computes them). A document is dropped when any of its 14 bands
 * equals that band of a document kept before (the first of a group is kept), as an online version of
 * datatrove's four-stage bucket/cluster/filter pipeline.
 *
 * The hash parameters come from ptflow's seeded generator (src/data/rng.ts), not numpy's
 * RandomState(seed), so signatures are not bit-identical to datatrove's; the scheme and its
 * sensitivity (Jaccard ≈ 0.72 gives a 50 % chance of a match) are. A document with fewer than 5 words
 * has no shingles and is kept.
 *
 * Memory: 14 numbers per kept document (one per band) in hash sets, ~1 KiB per document; bounded by
 * `max_documents` (an error past it).
 */
import type { RecordBatch } from 'apache-arrow';
import { z } from 'zod';
import { PtflowError } from '../../errors';
import { Rng } from '../../data/rng';
import { defineActor, type ActorContext } from '../api';
import { docsBatch, readDocs } from '../edges';
import { sha1Hash64 } from './exact-dedup';
import { simplifyText } from './text';
import { splitIntoWords } from './word-split';

const MERSENNE = (1n << 61n) - 1n;
const MASK64 = (1n << 64n) - 1n;

export const minhashDedupOptions = z
  .object({
    n_grams: z.number().int().min(1).default(5).describe('words per shingle'),
    num_buckets: z.number().int().min(1).default(14).describe('bands'),
    hashes_per_bucket: z.number().int().min(1).default(8).describe('rows (min-hashes) per band'),
    seed: z.number().int().default(1).describe('seed of the hash parameters'),
    max_documents: z.number().int().min(1).default(1_000_000).describe('kept documents remembered at most'),
  })
  .strict();
export type MinhashDedupOptions = z.output<typeof minhashDedupOptions>;

interface State {
  o: MinhashDedupOptions;
  a: bigint[];
  b: bigint[];
  bands: Set<string>[];
  kept: number;
  /** Band keys added by the batch in work (rolled back when a restart finds `open`). */
  added: [number, string][];
  open: boolean;
}

function below(rng: Rng, lo: bigint, hi: bigint): bigint {
  // 64 random bits reduced into [lo, hi): the bias (< 2^-3) does not matter for hash parameters.
  const r = (BigInt(rng.nextUint32()) << 32n) | BigInt(rng.nextUint32());
  return lo + (r % (hi - lo));
}

function init(o: MinhashDedupOptions): State {
  const rng = new Rng(o.seed, 0x6d696e68);
  const n = o.num_buckets * o.hashes_per_bucket;
  const a: bigint[] = [];
  const b: bigint[] = [];
  for (let i = 0; i < n; i++) a.push(below(rng, 1n, MERSENNE));
  for (let i = 0; i < n; i++) b.push(below(rng, 0n, MERSENNE));
  return { o, a, b, bands: Array.from({ length: o.num_buckets }, () => new Set<string>()), kept: 0, added: [], open: false };
}

/** The document's band keys (null: no shingles). */
export function minhashBands(text: string, st: Pick<State, 'o' | 'a' | 'b'>): string[] | null {
  const words = splitIntoWords(simplifyText(text));
  const n = st.o.n_grams;
  if (words.length < n) return null;
  const mins = new Array<bigint>(st.a.length).fill(MASK64);
  for (let i = 0; i + n <= words.length; i++) {
    const [lo, hi] = sha1Hash64(words.slice(i, i + n).join(' '));
    const s = (BigInt(hi) << 32n) | BigInt(lo);
    for (let k = 0; k < st.a.length; k++) {
      const v = (((s * st.a[k] + st.b[k]) & MASK64) % MERSENNE);
      if (v < mins[k]) mins[k] = v;
    }
  }
  const r = st.o.hashes_per_bucket;
  return Array.from({ length: st.o.num_buckets }, (_, band) => mins.slice(band * r, band * r + r).join(','));
}

export default defineActor({
  name: 'minhash_dedup',
  description: 'drops near-duplicate documents (MinHash LSH, 5-grams, 14 bands x 8 rows)',
  input: 'docs',
  output: 'docs',
  parallel: false,
  options: minhashDedupOptions,
  init,
  process(batch: RecordBatch, st: State, ctx: ActorContext) {
    if (st.open) {
      for (const [band, key] of st.added) st.bands[band].delete(key);
      st.kept -= st.added.length / st.o.num_buckets;
    }
    st.open = true;
    st.added = [];
    const docs = readDocs(batch);
    const kept = [];
    for (const d of docs) {
      const bands = minhashBands(d.text, st);
      if (bands === null) {
        kept.push(d);
        continue;
      }
      if (bands.some((key, i) => st.bands[i].has(key))) {
        ctx.drop('near_duplicate', d);
        continue;
      }
      if (st.kept >= st.o.max_documents) {
        throw new PtflowError(`minhash_dedup: more than max_documents (${st.o.max_documents}) documents kept; raise it in the step's options`, 2);
      }
      bands.forEach((key, i) => {
        st.bands[i].add(key);
        st.added.push([i, key]);
      });
      st.kept++;
      kept.push(d);
    }
    st.open = false;
    return kept.length === docs.length ? batch : docsBatch(kept);
  },
});
