/**
 * Cost of the tokenized cache's content checksums (src/cache/part-checksum.ts), measured in one run:
 * reading a part with its per-record-batch sha256 verified vs the same part read without verification,
 * and the time `prepare` spends hashing vs the time it spends writing the part; and the same for the
 * offset reader training uses (split-tokens.ts): every block of cutoff_len 1024 read in a seeded
 * random order with checksums and the vocab_size check vs without, and the first block's latency.
 *
 *   node dist/bench/cache-checksum.js [--mtokens 24] [--repeats 3]
 *
 * Documents are synthetic (random ids, 50–1000 tokens each); the part is written and read through
 * the real PartWriter / readPart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PartWriter, readPart } from '../src/cache/arrow-part';
import { batchChecksum } from '../src/cache/part-checksum';
import { BlockSource } from '../src/cache/block-source';
import { scanPartOffsets } from '../src/cache/part-offsets';
import { SplitTokens } from '../src/cache/split-tokens';
import { Rng } from '../src/data/rng';
import type { PartFile } from '../schemas/token-cache';
import { median } from './util/stats';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function main(): Promise<void> {
  const tokensWanted = arg('mtokens', 24) * 1e6;
  const repeats = arg('repeats', 3);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-bench-checksum-'));
  const file = path.join(dir, 'part.arrow');
  try {
    let seed = 12345;
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const docs: Int32Array[] = [];
    let tokens = 0;
    while (tokens < tokensWanted) {
      const d = new Int32Array(50 + Math.floor(rand() * 950));
      for (let i = 0; i < d.length; i++) d[i] = Math.floor(rand() * 32000);
      docs.push(d);
      tokens += d.length;
    }
    const t0 = performance.now();
    const w = new PartWriter(file);
    for (const d of docs) w.add(d);
    const st = await w.close();
    const writeMs = performance.now() - t0;
    // What hashing alone costs on the write side: the same batches hashed again.
    const th = performance.now();
    let n = 0;
    for await (const batch of readPart(file, { bytes: st.bytes, documents: st.documents })) {
      const offsets = new Int32Array(batch.length + 1);
      for (let i = 0; i < batch.length; i++) offsets[i + 1] = offsets[i] + batch[i].length;
      const values = new Int32Array(offsets[batch.length]);
      for (let i = 0; i < batch.length; i++) values.set(batch[i], offsets[i]);
      const t = performance.now();
      batchChecksum(offsets, values);
      n += performance.now() - t;
    }
    void th;
    const read = async (verify: boolean): Promise<number> => {
      const t = performance.now();
      let seen = 0;
      for await (const batch of readPart(file, { bytes: st.bytes, documents: st.documents, content_sha256: verify ? st.contentSha256 : undefined })) {
        seen += batch.length;
      }
      if (seen !== st.documents) throw new Error('short read');
      return performance.now() - t;
    };
    const plain: number[] = [];
    const verified: number[] = [];
    for (let r = 0; r < repeats; r++) {
      plain.push(await read(false));
      verified.push(await read(true));
    }
    // The offset reader: all blocks in a random order (each batch verified when first touched).
    const part: PartFile = { file: 'part.arrow', rank: 0, first: 0, documents: st.documents, tokens: st.tokens, bytes: st.bytes, content_sha256: st.contentSha256 };
    const offsets = await scanPartOffsets(dir, part, 'f'.repeat(64));
    const L = 1024;
    const blocks = (verify: boolean): { all: number; first: number } => {
      const order = Array.from({ length: Math.floor(st.tokens / L) }, (_, i) => i);
      const rng = new Rng(7);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.nextBelow(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      const t = performance.now();
      const src = new BlockSource(SplitTokens.open(dir, [part], [offsets], verify ? { vocabSize: 32000 } : { checksums: false }), { cutoffLen: L, packing: true, neatPacking: false });
      let first = 0;
      for (const i of order) {
        src.row(i);
        if (first === 0) first = performance.now() - t;
      }
      src.tokens.close();
      return { all: performance.now() - t, first };
    };
    const bPlain: number[] = [];
    const bVer: number[] = [];
    const fPlain: number[] = [];
    const fVer: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const a = blocks(false);
      const b = blocks(true);
      bPlain.push(a.all);
      fPlain.push(a.first);
      bVer.push(b.all);
      fVer.push(b.first);
    }
    const mb = st.bytes / 1e6;
    const p = median(plain);
    const v = median(verified);
    process.stdout.write(
      `part: ${st.documents} documents, ${st.tokens} tokens, ${mb.toFixed(1)} MB, ${st.contentSha256.length} record batches\n` +
        `read without checksums: ${p.toFixed(0)} ms (${(mb / (p / 1000)).toFixed(0)} MB/s)\n` +
        `read with checksums:    ${v.toFixed(0)} ms (${(mb / (v / 1000)).toFixed(0)} MB/s)\n` +
        `ratio verified / plain read: ${(v / p).toFixed(2)}\n` +
        `offset reader, all ${Math.floor(st.tokens / L)} blocks of ${L} in random order: ${median(bPlain).toFixed(0)} ms plain, ` +
        `${median(bVer).toFixed(0)} ms verified (checksums + vocab_size); ratio ${(median(bVer) / median(bPlain)).toFixed(2)}\n` +
        `offset reader, first block: ${median(fPlain).toFixed(2)} ms plain, ${median(fVer).toFixed(2)} ms verified\n` +
        `prepare side: hashing ${n.toFixed(0)} ms of ${writeMs.toFixed(0)} ms writing the part (${((100 * n) / writeMs).toFixed(0)}%)\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
