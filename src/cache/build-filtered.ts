/**
 * Builds one rank's part of a tokenized cache through the `pipeline:` steps on the documents edge,
 * so a filtered corpus is cached filtered:
 *
 *   1. count   (several ranks only) as build.ts: every rank plans the same split orders
 *   2. read    the documents of this rank's slices into a scratch file (text-spill.ts), in read order
 *   3. steps   the slices in split order — validation first, then train, as DatasetShardActor sends
 *              them in `ptflow train` — in batches of 256 documents carrying the same doc_id (the
 *              split ordinal) and source, through the steps (step-chain.ts), then tokenized into the
 *              part of their split; the steps' flush output goes to the last split
 *
 * With one rank the part is exactly what `ptflow train` without a cache feeds its tokenizer. With
 * several, every rank runs its own instance of each step over its own slices: a step that keeps state
 * across documents (exact_dedup, minhash_dedup) deduplicates within a rank's slices, not across ranks
 * (datatrove's single-stage dedup per task; see docs/actors.md).
 *
 * Each part records `planned` (the documents of its slice before the steps), so the ranks' parts still
 * join into one index (index-file.ts).
 */
import * as fs from 'node:fs';
import path from 'node:path';
import { decodeRawDocs, encodeRawDocs, type RawDoc } from '../../schemas/raw-docs';
import { TOKEN_CACHE_FORMAT, TOKEN_CACHE_VERSION, type CacheSplit, type PartManifest } from '../../schemas/token-cache';
import type { ResolvedStep } from '../actors/resolve';
import { describeCounts, StepChain } from '../actors/step-chain';
import { readDataset } from '../data/readers';
import { commitPart, countDocs, openPart, SPLITS, type BuildInput, type OpenPart } from './build';
import { OrderedTokenizer } from './doc-tokenizer';
import { writeManifest } from './index-file';
import { partStem } from './layout';
import { partRange } from './partition';
import { planSplits, type SourceCount, type SplitPlan } from './plan';
import { ProgressMeter } from './progress';
import { TextSpill } from './text-spill';

/** Documents per RawDocs batch, as DatasetShardActor sends them. */
const DOCS_PER_BATCH = 256;

export async function buildFilteredPart(inp: BuildInput, steps: readonly ResolvedStep[]): Promise<PartManifest> {
  const tokenizer = new OrderedTokenizer(inp.tokenizerDir, inp.workers);
  try {
    tokenizer.warmUp();
    return await build(inp, steps, tokenizer);
  } finally {
    await tokenizer.close();
  }
}

async function build(inp: BuildInput, steps: readonly ResolvedStep[], tokenizer: OrderedTokenizer): Promise<PartManifest> {
  const { rank, worldSize } = inp.partition;
  const label = `prepare [rank ${rank}/${worldSize}]`;
  const popts = { out: inp.out, label, intervalMs: inp.progressIntervalMs };
  const specs = [...inp.train, ...inp.eval];
  const planOf = (counts: readonly number[]): SplitPlan => {
    const asCount = (k: number): SourceCount => ({ name: specs[k].name, count: counts[k], numSamples: specs[k].numSamples });
    return planSplits(inp.train.map((_, k) => asCount(k)), inp.eval.map((_, k) => asCount(inp.train.length + k)), inp);
  };
  const rangesOf = (plan: SplitPlan, slice: (n: number) => { start: number; end: number }) =>
    new Map(SPLITS.filter((s) => plan[s].length > 0).map((s) => [s, slice(plan[s].length)] as const));

  // 1. count (several ranks)
  let plan: SplitPlan | null = null;
  const counts: number[] = [];
  let needed: Uint8Array | null = null;
  if (worldSize > 1) {
    const counter = new ProgressMeter(popts, 'counting documents', null);
    for (const spec of specs) counts.push(await countDocs(spec, inp.maxSamples, counter, inp.onBadRecord));
    counter.done();
    plan = planOf(counts);
    needed = new Uint8Array(plan.sources);
    for (const [s, { start, end }] of rangesOf(plan, (n) => partRange(n, rank, worldSize))) for (let p = start; p < end; p++) needed[plan[s][p]] = 1;
  }

  fs.mkdirSync(inp.dir, { recursive: true });
  const spill = new TextSpill(path.join(inp.dir, `.scratch-docs-${partStem(rank, worldSize)}-${process.pid}.bin`));
  const parts = new Map<CacheSplit, OpenPart>();
  let chain: StepChain | null = null;
  try {
    // 2. read this rank's documents
    const reader = new ProgressMeter(popts, 'reading', null);
    let offset = 0;
    for (let k = 0; k < specs.length; k++) {
      let last = plan ? -1 : inp.maxSamples === null ? Infinity : inp.maxSamples - 1;
      if (needed) for (let i = counts[k] - 1; i >= 0 && last < 0; i--) if (needed[offset + i]) last = i;
      let i = 0;
      if (last >= 0) {
        for await (const doc of readDataset(specs[k], { onBadRecord: inp.onBadRecord })) {
          if (!needed || needed[offset + i]) {
            spill.put(offset + i, doc.text, doc.loc.file);
            reader.add(1, 0);
          }
          if (++i > last) break;
        }
      }
      if (!plan) counts.push(i);
      offset += counts[k];
    }
    spill.seal();
    reader.done();
    plan ??= planOf(counts);
    const ranges = rangesOf(plan, (n) => (worldSize > 1 ? partRange(n, rank, worldSize) : { start: 0, end: n }));

    // 3. through the steps in split order (validation first), then tokenized into the split's part
    chain = await StepChain.open(steps, {
      exclusionSuffix: worldSize > 1 ? `.${partStem(rank, worldSize)}` : '',
      log: (level, message) => inp.out.write(`${label}: ${level === 'info' ? '' : `${level}: `}${message}\n`),
    });
    const meter = new ProgressMeter(popts, `filtering (${chain.steps.map((s) => s.name).join(', ')}) and tokenizing`, [...ranges.values()].reduce((a, r) => a + r.end - r.start, 0));
    let current: OpenPart | null = null;
    tokenizer.onBatch((ids) => {
      let tokens = 0;
      for (const x of ids) {
        current!.writer.add(x);
        tokens += x.length;
      }
      meter.add(0, tokens);
    });
    const tokenize = async (payloads: ArrayBuffer[]): Promise<void> => {
      for (const p of payloads) {
        const d = decodeRawDocs(p);
        if (d.texts.length === 0) continue;
        await tokenizer.push(d.texts, Array.from(d.docIds, Number));
        await current!.writer.drain();
      }
    };
    const o = plan;
    for (const s of ['validation', 'train'] as const) {
      const r = ranges.get(s);
      if (!r) continue;
      current = openPart(inp.dir, s, rank, worldSize, r.start);
      parts.set(s, current);
      for (let first = r.start; first < r.end; first += DOCS_PER_BATCH) {
        const batch: RawDoc[] = [];
        for (let p = first; p < Math.min(r.end, first + DOCS_PER_BATCH); p++) batch.push({ docId: p, ...spill.get(o[s][p]) });
        await tokenize(await chain.process(encodeRawDocs(batch)));
        meter.add(batch.length, 0);
      }
      await tokenizer.finish(); // this split's documents are in its part before the next split starts
    }
    if (current) {
      await tokenize(await chain.flush());
      await tokenizer.finish();
    }
    await chain.close();
    const tok = meter.done();
    for (const [name, c] of Object.entries(chain.counts())) inp.out.write(`${label}: pipeline step ${describeCounts(name, c)}\n`);
    for (const [s, part] of parts) {
      await commitPart(part);
      const r = ranges.get(s)!;
      part.result = { ...part.result!, planned: r.end - r.start };
    }
    inp.out.write(`${label}: ${tok.docs} documents read, ${[...parts.values()].reduce((a, p) => a + p.result!.documents, 0)} kept, ${tok.tokens} tokens\n`);

    const splits = [...parts.keys()];
    const manifest: PartManifest = {
      format: TOKEN_CACHE_FORMAT,
      format_version: TOKEN_CACHE_VERSION,
      fingerprint: inp.fingerprint,
      preprocessing: inp.preprocessing,
      rank,
      world_size: worldSize,
      split_documents: Object.fromEntries(splits.map((s) => [s, o[s].length])),
      splits: Object.fromEntries(splits.map((s) => [s, parts.get(s)!.result!])),
    };
    await writeManifest(inp.dir, manifest);
    return manifest;
  } finally {
    spill.close();
    for (const part of parts.values()) part.discard();
  }
}
