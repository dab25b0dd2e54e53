/**
 * Builds one rank's part of a tokenized cache, in bounded memory whatever the corpus size:
 *
 *   1. count   (several ranks only) read every dataset once, counting documents (capped at
 *              max_samples), and plan the split orders from the counts (plan.ts): exactly the order
 *              `ptflow train` uses; each rank takes a contiguous slice of each split
 *   2. tokens  read, tokenizing the documents of this rank's slices (all of them for one rank;
 *              worker pool when workers > 1): straight into the parts when the split order is the
 *              read order, else into a scratch file (one rank plans after this pass). One rank with
 *              a pool has the pool's threads read too, file by file or range by range (units.ts),
 *              handed on in read order; the main thread only places the results
 *   3. write   (scratch file only) the parts in split order; then the rank's manifest
 *
 * Part files are written under a temporary name and renamed into place; the manifest comes last, so
 * a manifest always describes complete files.
 *
 *   buildPart(input) → PartManifest
 *
 * With `pipeline:` steps on the documents edge, build-filtered.ts builds the part instead.
 */
import * as fs from 'node:fs';
import path from 'node:path';
import type { DatasetSpec } from '../data/registry';
import { readDataset, type BadRecordHandler } from '../data/readers';
import { tempPathFor } from '../engine/io/atomic';
import { TOKEN_CACHE_FORMAT, TOKEN_CACHE_VERSION, type CacheSplit, type PartFile, type PartManifest, type Preprocessing } from '../../schemas/token-cache';
import { DOCS_PER_BATCH } from '../../schemas/raw-docs';
import { PartWriter } from './arrow-part';
import { OrderedTokenizer } from './doc-tokenizer';
import { writeManifest } from './index-file';
import { partFile, partStem } from './layout';
import { partRange, type Partition } from './partition';
import { planSplits, type PlanOptions, type SourceCount, type SplitPlan } from './plan';
import { ProgressMeter } from './progress';
import { readUnits } from './read-units';
import { unitsOf } from './units';
import { Spill } from './spill';

export interface BuildInput extends PlanOptions {
  dir: string;
  tokenizerDir: string;
  workers: number;
  train: readonly DatasetSpec[];
  eval: readonly DatasetSpec[];
  preprocessing: Preprocessing;
  fingerprint: string;
  partition: Partition;
  out: NodeJS.WritableStream;
  /** Documents per tokenization task (default 256, as the train pipeline). */
  docsPerBatch?: number;
  /** Smallest byte range a pool thread reads of a single plain jsonl / txt file (default 1 MiB; units.ts). */
  minRangeBytes?: number;
  /** on_bad_record: skip — bad records are reported here (by every pass that reads them) and skipped. */
  onBadRecord?: BadRecordHandler;
  progressIntervalMs?: number;
  /** Prefix of the progress lines (default "prepare [rank R/W]"). */
  label?: string;
}

export async function countDocs(spec: DatasetSpec, limit: number | null, meter: ProgressMeter, onBadRecord?: BadRecordHandler): Promise<number> {
  let n = 0;
  if (limit !== null && limit <= 0) return 0;
  for await (const _doc of readDataset(spec, { onBadRecord })) {
    n++;
    if (n % 1024 === 0) meter.add(1024, 0);
    if (limit !== null && n >= limit) break;
  }
  meter.add(n % 1024, 0);
  return n;
}

/** Is `order[start..end)` strictly increasing (each document once, in the order the files are read)? */
function inReadOrder(order: Uint32Array, r: { start: number; end: number }): boolean {
  for (let p = r.start + 1; p < r.end; p++) if (order[p] <= order[p - 1]) return false;
  return true;
}

/** One split's part being written under a temporary name. */
export interface OpenPart {
  rel: string;
  target: string;
  tmp: string;
  first: number;
  rank: number;
  writer: PartWriter;
  result: PartFile | null;
  discard(): void;
}

export function openPart(dir: string, split: CacheSplit, rank: number, worldSize: number, first: number): OpenPart {
  const rel = partFile(split, rank, worldSize);
  const target = path.join(dir, rel);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  const writer = new PartWriter(tmp);
  const part: OpenPart = {
    rel, target, tmp, first, rank, writer, result: null,
    discard() {
      if (part.result) return;
      writer.abort();
      fs.rmSync(tmp, { force: true });
    },
  };
  return part;
}

/** Finish the file and rename it into place. */
export async function commitPart(part: OpenPart): Promise<void> {
  const st = await part.writer.close();
  fs.renameSync(part.tmp, part.target);
  part.result = { file: part.rel, rank: part.rank, first: part.first, documents: st.documents, tokens: st.tokens, bytes: st.bytes,
    content_sha256: st.contentSha256,
  };
}

export async function buildPart(inp: BuildInput): Promise<PartManifest> {
  // The tokenizer first: a pool's threads load their tokenizer while this thread counts documents.
  const tokenizer = new OrderedTokenizer(inp.tokenizerDir, inp.workers);
  try {
    tokenizer.warmUp();
    return await build(inp, tokenizer);
  } finally {
    await tokenizer.close();
  }
}

/** Will the split orders be the read order (no sampling, no interleaving, no val_size shuffle)? */
export function readOrderPlan(inp: Pick<BuildInput, 'train' | 'eval' | 'mixStrategy' | 'valSize'>): boolean {
  const plain = (specs: readonly DatasetSpec[]): boolean =>
    specs.every((s) => s.numSamples === undefined) && (specs.length <= 1 || inp.mixStrategy === 'concat');
  return plain(inp.train) && plain(inp.eval) && (inp.eval.length > 0 || !(inp.valSize > 1e-6));
}

export const SPLITS: readonly CacheSplit[] = ['train', 'validation'];

async function build(inp: BuildInput, tokenizer: OrderedTokenizer): Promise<PartManifest> {
  const { rank, worldSize } = inp.partition;
  const label = inp.label ?? `prepare [rank ${rank}/${worldSize}]`;
  const popts = { out: inp.out, label, intervalMs: inp.progressIntervalMs };
  const specs = [...inp.train, ...inp.eval];
  const planOf = (counts: readonly number[]) => {
    const asCount = (k: number): SourceCount => ({ name: specs[k].name, count: counts[k], numSamples: specs[k].numSamples });
    return planSplits(inp.train.map((_, k) => asCount(k)), inp.eval.map((_, k) => asCount(inp.train.length + k)), inp);
  };

  // 1. count — only with several ranks, which must agree on their slices before tokenizing.
  //    One rank reads once: it tokenizes everything it reads and plans afterwards.
  let plan: SplitPlan | null = null;
  let counts: number[] = [];
  if (worldSize > 1) {
    const counter = new ProgressMeter(popts, 'counting documents', null);
    for (const spec of specs) counts.push(await countDocs(spec, inp.maxSamples, counter, inp.onBadRecord));
    counter.done();
    plan = planOf(counts);
  }

  // 2. what this rank tokenizes
  let orders: Record<CacheSplit, Uint32Array> | null = null;
  let ranges = new Map<CacheSplit, { start: number; end: number }>();
  let needed: Uint8Array | null = null;
  let neededDocs: number | null = null;
  if (plan) {
    orders = { train: plan.train, validation: plan.validation };
    const o = orders;
    ranges = new Map(SPLITS.filter((s) => o[s].length > 0).map((s) => [s, partRange(o[s].length, rank, worldSize)]));
    needed = new Uint8Array(plan.sources);
    neededDocs = 0;
    for (const [s, { start, end }] of ranges) {
      for (let p = start; p < end; p++) {
        if (!needed[o[s][p]]) neededDocs++;
        needed[o[s][p]] = 1;
      }
    }
  }

  // 3. tokens: straight into the parts when each split's slice is in read order, else into a
  //    scratch file read back in split order (4).
  fs.mkdirSync(inp.dir, { recursive: true });
  const direct = orders ? [...ranges].every(([s, r]) => inReadOrder(orders![s], r)) : readOrderPlan(inp);
  const parts = new Map<CacheSplit, OpenPart>();
  const partOf = (s: CacheSplit, first: number): OpenPart => {
    let part = parts.get(s);
    if (!part) parts.set(s, (part = openPart(inp.dir, s, rank, worldSize, first)));
    return part;
  };
  for (const [s, r] of ranges) partOf(s, r.start); // every rank writes a part of each split, even an empty one
  const spill = direct ? null : new Spill(path.join(inp.dir, `.scratch-${partStem(rank, worldSize)}-${process.pid}.bin`), plan?.sources);
  try {
    // Which split a document goes to when written directly.
    const splitOf = new Uint8Array(direct && orders ? plan!.sources : 0);
    for (const [s, { start, end }] of direct && orders ? ranges : []) for (let p = start; p < end; p++) splitOf[orders![s][p]] = SPLITS.indexOf(s) + 1;
    let evalStart: number | null = null; // first global index of the eval datasets, once reached
    const meter = new ProgressMeter(popts, 'tokenizing', neededDocs);
    const place = (ids: Int32Array[], docIds: BigInt64Array): void => {
      let tokens = 0;
      for (let i = 0; i < ids.length; i++) {
        const g = Number(docIds[i]);
        if (spill) spill.put(g, ids[i]);
        else if (orders) partOf(SPLITS[splitOf[g] - 1], 0).writer.add(ids[i]);
        else partOf(evalStart === null || g < evalStart ? 'train' : 'validation', 0).writer.add(ids[i]);
        tokens += ids[i].length;
      }
      meter.add(ids.length, tokens);
    };
    tokenizer.onBatch(place);
    const perBatch = inp.docsPerBatch ?? DOCS_PER_BATCH;
    let offset = 0;
    for (let k = 0; k < specs.length; k++) {
      if (k === inp.train.length) evalStart = offset;
      // With a plan: up to this dataset's last needed document. Without: everything, up to max_samples.
      let last = plan ? -1 : inp.maxSamples === null ? Infinity : inp.maxSamples - 1;
      if (needed) for (let i = counts[k] - 1; i >= 0 && last < 0; i--) if (needed[offset + i]) last = i;
      let texts: string[] = [];
      let ids: number[] = [];
      let i = 0;
      // One rank with a pool: the pool's threads read the dataset's files (or ranges of its file) too.
      const units = !plan && last >= 0 && tokenizer.poolSize > 0 ? await unitsOf(specs[k], tokenizer.poolSize, inp.minRangeBytes) : null;
      if (units) {
        await tokenizer.finish(); // what the main thread read before goes first
        const base = offset;
        i = await readUnits(tokenizer, units, {
          limit: inp.maxSamples, onBadRecord: inp.onBadRecord, docsPerBatch: perBatch,
          sink: async (batch, first) => {
            place(batch, BigInt64Array.from(batch, (_, j) => BigInt(base + first + j)));
            for (const part of parts.values()) await part.writer.drain();
          },
        });
      } else if (last >= 0) {
        for await (const doc of readDataset(specs[k], { onBadRecord: inp.onBadRecord })) {
          if (!needed || needed[offset + i]) {
            texts.push(doc.text);
            ids.push(offset + i);
            if (texts.length >= perBatch) {
              await tokenizer.push(texts, ids);
              for (const part of parts.values()) await part.writer.drain();
              texts = [];
              ids = [];
            }
          }
          if (++i > last) break;
        }
        if (texts.length > 0) await tokenizer.push(texts, ids);
      }
      if (!plan) counts.push(i);
      offset += counts[k];
    }
    await tokenizer.finish();
    const tok = meter.done();

    if (!plan) {
      // One rank: the plan from what was read; its slices are the whole splits.
      plan = planOf(counts);
      orders = { train: plan.train, validation: plan.validation };
      const o = orders;
      ranges = new Map(SPLITS.filter((s) => o[s].length > 0).map((s) => [s, { start: 0, end: o[s].length }]));
      if (direct) {
        // What went straight into the parts must be exactly the planned order.
        for (const [s, r] of ranges) {
          const wrote = parts.get(s)?.writer.documentsAdded ?? 0;
          if (wrote !== r.end || !inReadOrder(o[s], r)) throw new Error(`internal: ${s} written in read order (${wrote} documents) is not the planned order`);
        }
      }
    }

    // 4. from the scratch file, in split order
    if (spill) {
      spill.seal();
      const writeMeter = new ProgressMeter(popts, 'writing', [...ranges.values()].reduce((a, r) => a + r.end - r.start, 0));
      for (const [s, { start, end }] of ranges) {
        const part = partOf(s, start);
        for (let p = start; p < end; p++) {
          const ids = spill.get(orders![s][p]);
          part.writer.add(ids);
          writeMeter.add(1, ids.length);
          if ((p - start) % 256 === 255) await part.writer.drain();
        }
      }
      writeMeter.done();
    }
    for (const s of ranges.keys()) await commitPart(parts.get(s)!);
    inp.out.write(`${label}: ${tok.docs} documents, ${tok.tokens} tokens tokenized at ${Math.round(tok.docsPerSec)} docs/s, ${Math.round(tok.tokensPerSec)} tokens/s\n`);
  } finally {
    spill?.close();
    for (const part of parts.values()) part.discard();
  }
  const splits = [...ranges.keys()];
  const written = splits.map((s) => parts.get(s)!.result!);

  const manifest: PartManifest = {
    format: TOKEN_CACHE_FORMAT,
    format_version: TOKEN_CACHE_VERSION,
    fingerprint: inp.fingerprint,
    preprocessing: inp.preprocessing,
    rank,
    world_size: worldSize,
    split_documents: Object.fromEntries(splits.map((s) => [s, orders![s].length])),
    splits: Object.fromEntries(written.map((p) => [p.file.split('/')[0], p])),
  };
  await writeManifest(inp.dir, manifest);
  return manifest;
}
