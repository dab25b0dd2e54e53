/**
 * Builds one rank's part of a tokenized cache, in bounded memory whatever the corpus size:
 *
 *   1. count   read every dataset once, counting documents (capped at max_samples)
 *   2. plan    the split orders from the counts (plan.ts): exactly the order `ptflow train` uses
 *   3. tokens  read again, tokenizing only the documents in this rank's ranges (worker pool when
 *              workers > 1), straight into the parts when the split order is the read order, else
 *              into a scratch file
 *   4. write   (scratch file only) this rank's part of each split, in split order; then the manifest
 *
 * Part files are written under a temporary name and renamed into place; the manifest comes last, so
 * a manifest always describes complete files.
 *
 *   buildPart(input) → PartManifest
 */
import * as fs from 'node:fs';
import path from 'node:path';
import type { DatasetSpec } from '../data/registry';
import { readDataset } from '../data/readers';
import { tempPathFor } from '../engine/io/atomic';
import { TOKEN_CACHE_FORMAT, TOKEN_CACHE_VERSION, type CacheSplit, type PartFile, type PartManifest, type Preprocessing } from '../../schemas/token-cache';
import { PartWriter } from './arrow-part';
import { OrderedTokenizer } from './doc-tokenizer';
import { writeManifest } from './index-file';
import { partFile, partStem } from './layout';
import { partRange, type Partition } from './partition';
import { planSplits, type PlanOptions, type SourceCount } from './plan';
import { ProgressMeter } from './progress';
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
  progressIntervalMs?: number;
}

interface Source {
  spec: DatasetSpec;
  /** Global index of its first document. */
  offset: number;
  count: number;
}

async function countDocs(spec: DatasetSpec, limit: number | null, meter: ProgressMeter): Promise<number> {
  let n = 0;
  if (limit !== null && limit <= 0) return 0;
  for await (const _doc of readDataset(spec)) {
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
interface OpenPart {
  rel: string;
  target: string;
  tmp: string;
  first: number;
  rank: number;
  writer: PartWriter;
  result: PartFile | null;
  discard(): void;
}

function openPart(dir: string, split: CacheSplit, rank: number, worldSize: number, first: number): OpenPart {
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
async function commitPart(part: OpenPart): Promise<void> {
  const st = await part.writer.close();
  fs.renameSync(part.tmp, part.target);
  part.result = { file: part.rel, rank: part.rank, first: part.first, documents: st.documents, tokens: st.tokens, bytes: st.bytes };
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

async function build(inp: BuildInput, tokenizer: OrderedTokenizer): Promise<PartManifest> {
  const { rank, worldSize } = inp.partition;
  const label = `prepare [rank ${rank}/${worldSize}]`;
  const popts = { out: inp.out, label, intervalMs: inp.progressIntervalMs };

  // 1. count
  const specs = [...inp.train, ...inp.eval];
  const counter = new ProgressMeter(popts, 'counting documents', null);
  const sources: Source[] = [];
  let offset = 0;
  for (const spec of specs) {
    const count = await countDocs(spec, inp.maxSamples, counter);
    sources.push({ spec, offset, count });
    offset += count;
  }
  counter.done();

  // 2. plan
  const asCount = (s: Source): SourceCount => ({ name: s.spec.name, count: s.count, numSamples: s.spec.numSamples });
  const plan = planSplits(sources.slice(0, inp.train.length).map(asCount), sources.slice(inp.train.length).map(asCount), inp);
  const orders: Record<CacheSplit, Uint32Array> = { train: plan.train, validation: plan.validation };
  const splits = (['train', 'validation'] as const).filter((s) => orders[s].length > 0);
  const ranges = new Map(splits.map((s) => [s, partRange(orders[s].length, rank, worldSize)]));
  const needed = new Uint8Array(plan.sources);
  let neededDocs = 0;
  for (const s of splits) {
    const { start, end } = ranges.get(s)!;
    for (let p = start; p < end; p++) {
      const g = orders[s][p];
      if (!needed[g]) neededDocs++;
      needed[g] = 1;
    }
  }

  // 3. tokens: straight into the parts when each split's slice is in read order (no val_size
  //    shuffle, no repeats), else into a scratch file read back in split order (4).
  fs.mkdirSync(inp.dir, { recursive: true });
  const direct = splits.every((s) => inReadOrder(orders[s], ranges.get(s)!));
  const parts = splits.map((s) => openPart(inp.dir, s, rank, worldSize, ranges.get(s)!.start));
  const spill = direct ? null : new Spill(path.join(inp.dir, `.scratch-${partStem(rank, worldSize)}-${process.pid}.bin`), plan.sources);
  try {
    const splitOf = new Uint8Array(direct ? plan.sources : 0); // 1 + index into `parts`
    if (direct) {
      splits.forEach((s, k) => {
        const { start, end } = ranges.get(s)!;
        for (let p = start; p < end; p++) splitOf[orders[s][p]] = k + 1;
      });
    }
    const meter = new ProgressMeter(popts, 'tokenizing', neededDocs);
    tokenizer.onBatch((ids, docIds) => {
      let tokens = 0;
      for (let i = 0; i < ids.length; i++) {
        const g = Number(docIds[i]);
        if (spill) spill.put(g, ids[i]);
        else parts[splitOf[g] - 1].writer.add(ids[i]);
        tokens += ids[i].length;
      }
      meter.add(ids.length, tokens);
    });
    const perBatch = inp.docsPerBatch ?? 256;
    for (const src of sources) {
      let last = -1;
      for (let i = src.count - 1; i >= 0 && last < 0; i--) if (needed[src.offset + i]) last = i;
      if (last < 0) continue; // nothing of this dataset in this rank's slices
      let texts: string[] = [];
      let ids: number[] = [];
      let i = 0;
      for await (const doc of readDataset(src.spec)) {
        if (needed[src.offset + i]) {
          texts.push(doc.text);
          ids.push(src.offset + i);
          if (texts.length >= perBatch) {
            await tokenizer.push(texts, ids);
            if (direct) for (const part of parts) await part.writer.drain();
            texts = [];
            ids = [];
          }
        }
        if (++i > last) break;
      }
      if (texts.length > 0) await tokenizer.push(texts, ids);
    }
    await tokenizer.finish();
    const tok = meter.done();

    // 4. from the scratch file, in split order
    if (spill) {
      spill.seal();
      const writeMeter = new ProgressMeter(popts, 'writing', neededDocs);
      for (let k = 0; k < splits.length; k++) {
        const { start, end } = ranges.get(splits[k])!;
        for (let p = start; p < end; p++) {
          const ids = spill.get(orders[splits[k]][p]);
          parts[k].writer.add(ids);
          writeMeter.add(1, ids.length);
          if ((p - start) % 256 === 255) await parts[k].writer.drain();
        }
      }
      writeMeter.done();
    }
    for (const part of parts) await commitPart(part);
    inp.out.write(`${label}: ${tok.docs} documents, ${tok.tokens} tokens tokenized at ${Math.round(tok.docsPerSec)} docs/s, ${Math.round(tok.tokensPerSec)} tokens/s\n`);
  } finally {
    spill?.close();
    for (const part of parts) part.discard();
  }
  const written = parts.map((p) => p.result!);

  const manifest: PartManifest = {
    format: TOKEN_CACHE_FORMAT,
    format_version: TOKEN_CACHE_VERSION,
    fingerprint: inp.fingerprint,
    preprocessing: inp.preprocessing,
    rank,
    world_size: worldSize,
    split_documents: Object.fromEntries(splits.map((s) => [s, orders[s].length])),
    splits: Object.fromEntries(written.map((p) => [p.file.split('/')[0], p])),
  };
  await writeManifest(inp.dir, manifest);
  return manifest;
}
