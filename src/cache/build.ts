/**
 * Builds one rank's part of a tokenized cache, in bounded memory whatever the corpus size:
 *
 *   1. count   read every dataset once, counting documents (capped at max_samples)
 *   2. plan    the split orders from the counts (plan.ts): exactly the order `ptflow train` uses
 *   3. tokens  read again, tokenizing only the documents in this rank's ranges (worker pool when
 *              workers > 1) into a scratch file
 *   4. write   this rank's Arrow part of each split, in split order, then its manifest
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

  // 3. tokens → scratch file
  fs.mkdirSync(inp.dir, { recursive: true });
  const spill = new Spill(path.join(inp.dir, `.scratch-${partStem(rank, worldSize)}-${process.pid}.bin`), plan.sources);
  const written: PartFile[] = [];
  const temps: string[] = [];
  try {
    const meter = new ProgressMeter(popts, 'tokenizing', neededDocs);
    tokenizer.onBatch((ids, docIds) => {
      let tokens = 0;
      for (let i = 0; i < ids.length; i++) {
        spill.put(Number(docIds[i]), ids[i]);
        tokens += ids[i].length;
      }
      meter.add(ids.length, tokens);
    });
    const perBatch = inp.docsPerBatch ?? 256;
    {
      for (const src of sources) {
        let last = -1;
        for (let i = src.count - 1; i >= 0; i--) if (needed[src.offset + i]) { last = i; break; }
        if (last < 0) continue; // nothing of this dataset in this rank's ranges
        let texts: string[] = [];
        let ids: number[] = [];
        let i = 0;
        for await (const doc of readDataset(src.spec)) {
          if (needed[src.offset + i]) {
            texts.push(doc.text);
            ids.push(src.offset + i);
            if (texts.length >= perBatch) {
              await tokenizer.push(texts, ids);
              texts = [];
              ids = [];
            }
          }
          if (++i > last) break;
        }
        if (texts.length > 0) await tokenizer.push(texts, ids);
      }
      await tokenizer.finish();
    }
    spill.seal();
    const tok = meter.done();

    // 4. write the parts in split order
    const writeMeter = new ProgressMeter(popts, 'writing', neededDocs);
    for (const s of splits) {
      const { start, end } = ranges.get(s)!;
      const rel = partFile(s, rank, worldSize);
      const target = path.join(inp.dir, rel);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const tmp = tempPathFor(target);
      temps.push(tmp);
      const w = new PartWriter(tmp);
      try {
        for (let p = start; p < end; p++) {
          const ids = spill.get(orders[s][p]);
          w.add(ids);
          writeMeter.add(1, ids.length);
          if ((p - start) % 4096 === 4095) await w.drain();
        }
        const st = await w.close();
        fs.renameSync(tmp, target);
        written.push({ file: rel, rank, first: start, documents: st.documents, tokens: st.tokens, bytes: st.bytes });
      } catch (e) {
        w.abort();
        throw e;
      }
    }
    writeMeter.done();
    inp.out.write(`${label}: ${tok.docs} documents, ${tok.tokens} tokens tokenized at ${Math.round(tok.docsPerSec)} docs/s, ${Math.round(tok.tokensPerSec)} tokens/s\n`);
  } finally {
    spill.close();
    for (const t of temps) fs.rmSync(t, { force: true });
  }

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
