import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { JsonValue } from '../../../schemas/ports';
import { decodeRawDocs } from '../../../schemas/raw-docs';
import { parseStreamCursor, type StreamShardState } from '../../../schemas/stream-cursor';
import type { BadRecord } from '../readers';
import type { DatasetSpec } from '../registry';
import { Rng } from '../rng';
import { newShardMemory, runStreamShard, type StreamDocsMeta, type StreamShardParams } from './shard-stream';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-shard-stream-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

class Stop extends Error {}

interface Sent {
  split: 'train' | 'eval';
  texts: string[];
  meta: StreamDocsMeta;
}

/** Runs the shard until `trainDocs` training documents were sent (or it returns). */
async function collect(p: StreamShardParams, trainDocs: number, io = { bytes: 0 }): Promise<Sent[]> {
  const sent: Sent[] = [];
  let train = 0;
  try {
    await runStreamShard(
      {
        send: async (payload: ArrayBuffer, meta: JsonValue) => {
          const m = JSON.parse(JSON.stringify(meta)) as StreamDocsMeta; // it crosses threads and checkpoints as JSON
          sent.push({ split: m.split, texts: decodeRawDocs(payload).texts, meta: m });
          if (m.split === 'train') train += m.count;
          if (train >= trainDocs) throw new Stop();
        },
      },
      p,
      io,
    );
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
  }
  return sent;
}

function writeDataset(name: string, files: string[][]): DatasetSpec {
  const paths = files.map((docs, f) => {
    const p = path.join(dir, `${name}-${f}.jsonl`);
    fs.writeFileSync(p, docs.map((t) => JSON.stringify({ text: t })).join('\n') + '\n');
    return p;
  });
  return { name, files: paths, format: 'jsonl', textColumn: 'text' };
}

/** The reference stream of one epoch, computed independently: files in seeded order, HF's buffer shuffle. */
function referenceEpoch(files: string[][], seed: number, epoch: number, size: number): string[] {
  const order = files.length > 1 ? Array.from(new Rng(seed + epoch, 2).permutation(files.length)) : [0];
  const input = order.flatMap((f) => files[f]);
  const rng = new Rng(seed + epoch, 1);
  const mem: string[] = [];
  const out: string[] = [];
  for (const x of input) {
    if (mem.length === size) {
      const i = rng.nextBelow(size);
      out.push(mem[i]);
      mem[i] = x;
    } else mem.push(x);
  }
  for (const j of rng.permutation(mem.length)) out.push(mem[j]);
  return out;
}

describe('runStreamShard', () => {
  const files = [Array.from({ length: 70 }, (_, i) => `first ${i}`), Array.from({ length: 45 }, (_, i) => `second ${i}`)];
  const spec = writeDataset('two', files);
  const params: StreamShardParams = {
    train: [spec], eval: [], mix_strategy: 'concat', interleave_probs: null, val_size: 10, seed: 5, buffer_size: 16,
    do_train: true, docs_per_batch: 8, resume: null,
  };

  it('eval = the first val_size documents of the shuffled stream; train = the rest, then the next epochs without their first val_size', async () => {
    const sent = await collect(params, 3 * 105);
    const evalTexts = sent.filter((s) => s.split === 'eval').flatMap((s) => s.texts);
    const e0 = referenceEpoch(files, 5, 0, 16);
    const e1 = referenceEpoch(files, 5, 1, 16);
    const e2 = referenceEpoch(files, 5, 2, 16);
    expect(evalTexts).toEqual(e0.slice(0, 10));
    const train = sent.filter((s) => s.split === 'train');
    expect(train.flatMap((s) => s.texts)).toEqual([...e0.slice(10), ...e1.slice(10), ...e2.slice(10)]);
    expect(e1).not.toEqual(e0); // each epoch is reshuffled (seed + epoch)
    // eval batches come first; a training batch never spans two epochs; doc ids run on
    expect(sent.findIndex((s) => s.split === 'train')).toBe(2);
    expect(train.map((s) => s.meta.epoch)).toEqual(train.map((_, i) => (i < 14 ? 0 : i < 28 ? 1 : 2)));
    expect(train.map((s) => s.meta.first)).toEqual(train.map((_, i) => train.slice(0, i).reduce((a, t) => a + t.texts.length, 0)));
  });

  it('resumes from any batch state: same eval documents, and the same training stream from that batch on', async () => {
    const full = await collect(params, 3 * 105);
    const train = full.filter((s) => s.split === 'train');
    for (const k of [0, 1, 2, 5, 13, 14, 20, 27, 28, 33]) {
      const state = train[k].meta.state!;
      // the state survives the cursor schema
      const cursor = parseStreamCursor({ kind: 'stream', shard: state as unknown as JsonValue, doc: 0, token: 0, micro: 1 }, 'test');
      const resumed = await collect({ ...params, resume: cursor.shard }, 40);
      expect(resumed.filter((s) => s.split === 'eval').flatMap((s) => s.texts)).toEqual(full.filter((s) => s.split === 'eval').flatMap((s) => s.texts));
      const got = resumed.filter((s) => s.split === 'train').flatMap((s) => s.texts);
      expect(got).toEqual(train.slice(k).flatMap((s) => s.texts).slice(0, got.length));
      expect(got.length).toBeGreaterThanOrEqual(40);
    }
  });

  it('a restart after a failed send sends every batch exactly once (eval phase, training, at an epoch end)', async () => {
    const full = await collect(params, 2 * 105);
    const flat = (xs: Sent[]): string[][] => xs.map((x) => [x.split, ...x.texts]);
    const epochEnd = full.findIndex((x) => x.split === 'train' && x.meta.epoch === 1);
    for (const failAt of [1, 2, 3, 4, 9, epochEnd, epochEnd + 1]) {
      const mem = newShardMemory();
      const sent: Sent[] = [];
      let calls = 0;
      let train = 0;
      const out = {
        send: async (payload: ArrayBuffer, meta: JsonValue) => {
          if (++calls === failAt) throw new Error('send failed');
          const m = JSON.parse(JSON.stringify(meta)) as StreamDocsMeta;
          sent.push({ split: m.split, texts: decodeRawDocs(payload).texts, meta: m });
          if (m.split === 'train') train += m.count;
          if (train >= 2 * 105) throw new Stop();
        },
      };
      await expect(runStreamShard(out, params, { bytes: 0 }, mem)).rejects.toThrow('send failed');
      await expect(runStreamShard(out, params, { bytes: 0 }, mem)).rejects.toThrow(Stop);
      expect(flat(sent)).toEqual(flat(full));
    }
  });

  it('rejects a cursor made for another configuration', async () => {
    const full = await collect(params, 20);
    const state = full.filter((s) => s.split === 'train')[1].meta.state!;
    await expect(collect({ ...params, buffer_size: 32, resume: state }, 8)).rejects.toThrow(/buffer_size=16, but the run now has buffer_size=32/);
    await expect(collect({ ...params, train: [{ ...spec, files: [spec.files[0]] }], resume: state }, 8)).rejects.toThrow(/2 files, but the run now has 1 files/);
  });

  it('interleaves several datasets inside the stream, eval_dataset read whole', async () => {
    const a = writeDataset('ia', [Array.from({ length: 30 }, (_, i) => `a${i}`)]);
    const b = writeDataset('ib', [Array.from({ length: 10 }, (_, i) => `b${i}`)]);
    const ev = writeDataset('ev', [['e0', 'e1', 'e2']]);
    const sent = await collect({ ...params, train: [a, b], eval: [ev], mix_strategy: 'interleave_under', buffer_size: 1, val_size: 0 }, 20);
    expect(sent.filter((s) => s.split === 'eval').flatMap((s) => s.texts)).toEqual(['e0', 'e1', 'e2']);
    // buffer 1 keeps the merged order: round robin until b is used up (10 rounds), then epoch 1 repeats it
    const round = Array.from({ length: 10 }, (_, i) => [`a${i}`, `b${i}`]).flat();
    expect(sent.filter((s) => s.split === 'train').flatMap((s) => s.texts).slice(0, 20)).toEqual(round);
  });

  it('too few documents for val_size, or none left to train on, is an error naming the dataset', async () => {
    const tiny = writeDataset('tiny', [['only one', 'two']]);
    await expect(collect({ ...params, train: [tiny], val_size: 5 }, 1)).rejects.toThrow(/val_size=5 should be smaller than the number of samples 2/);
    await expect(collect({ ...params, train: [tiny], val_size: 2 }, 1)).rejects.toThrow(/dataset tiny: no documents to train on in epoch 0 after the first val_size=2/);
    await expect(collect({ ...params, train: [tiny], val_size: 2 }, 1)).rejects.toMatchObject({ exitCode: 2 }); // not retried
  });
});

describe('on_bad_record: skip while streaming', () => {
  // the files of the runStreamShard tests, with bad lines among the good ones
  const files = [Array.from({ length: 70 }, (_, i) => `first ${i}`), Array.from({ length: 45 }, (_, i) => `second ${i}`)];
  const badLines = ['{"text": oops', '{"body": "no text"}', '{"text": null}'];
  const paths = files.map((docs, f) => {
    const p = path.join(dir, `dirty-${f}.jsonl`);
    const lines = docs.map((t) => JSON.stringify({ text: t }));
    lines.splice(f === 0 ? 3 : 40, 0, badLines[0]);
    lines.splice(f === 0 ? 30 : 0, 0, badLines[1 + f]);
    fs.writeFileSync(p, lines.join('\n') + '\n');
    return p;
  });
  const spec: DatasetSpec = { name: 'dirty', files: paths, format: 'jsonl', textColumn: 'text' };
  const bad: BadRecord[] = [];
  const params: StreamShardParams = {
    train: [spec], eval: [], mix_strategy: 'concat', interleave_probs: null, val_size: 10, seed: 5, buffer_size: 16,
    do_train: true, docs_per_batch: 8, resume: null, onBadRecord: (b) => bad.push(b),
  };

  it('streams exactly what a clean copy would, reporting the bad lines of each epoch read', async () => {
    bad.length = 0;
    const sent = await collect(params, 2 * 105);
    const e0 = referenceEpoch(files, 5, 0, 16);
    const e1 = referenceEpoch(files, 5, 1, 16);
    expect(sent.filter((s) => s.split === 'eval').flatMap((s) => s.texts)).toEqual(e0.slice(0, 10));
    expect(sent.filter((s) => s.split === 'train').flatMap((s) => s.texts)).toEqual([...e0.slice(10), ...e1.slice(10)]);
    // epoch 0 read both files; epoch 1 was stopped before its end, after reading at least the bad lines at each file's start
    const lines = bad.map((b) => `${path.basename(b.file)}:${b.line}`);
    expect(lines.slice(0, 4).sort()).toEqual(['dirty-0.jsonl:31', 'dirty-0.jsonl:4', 'dirty-1.jsonl:1', 'dirty-1.jsonl:42']);
    expect(bad.every((b) => b.byte !== undefined && b.reason.length > 0)).toBe(true);
  });

  it('resumes from batch states to the same stream (skipped lines never shift a position)', async () => {
    const full = (await collect(params, 2 * 105)).filter((s) => s.split === 'train');
    for (const k of [0, 3, 7, 13, 14, 20]) {
      const resumed = (await collect({ ...params, resume: full[k].meta.state }, 30)).filter((s) => s.split === 'train').flatMap((s) => s.texts);
      expect(resumed).toEqual(full.slice(k).flatMap((s) => s.texts).slice(0, resumed.length));
    }
  });

  it('without onBadRecord the first bad line stops the stream, naming file:line', async () => {
    await expect(collect({ ...params, onBadRecord: undefined }, 10)).rejects.toThrow(/dirty-\d\.jsonl:\d+: /);
  });
});

describe('resume cost does not grow with the position', () => {
  it('bytes read before the first training batch are about the same near the start and far into a 50 MB file', async () => {
    const file = path.join(dir, 'big.jsonl');
    const fd = fs.openSync(file, 'w');
    const filler = 'lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(8);
    let n = 0;
    while (n * 500 < 50e6) {
      const lines: string[] = [];
      for (let k = 0; k < 1000; k++, n++) lines.push(JSON.stringify({ text: `doc ${n} ${filler}` }));
      fs.writeSync(fd, lines.join('\n') + '\n');
    }
    fs.closeSync(fd);
    const size = fs.statSync(file).size;
    const spec: DatasetSpec = { name: 'big', files: [file], format: 'jsonl', textColumn: 'text' };
    const p: StreamShardParams = {
      train: [spec], eval: [], mix_strategy: 'concat', interleave_probs: null, val_size: 20, seed: 1, buffer_size: 256,
      do_train: true, docs_per_batch: 64, resume: null,
    };
    // one pass over epoch 0, keeping the states of a batch near the start and one near the end
    let near: StreamShardState | null = null;
    let far: StreamShardState | null = null;
    let batches = 0;
    try {
      await runStreamShard({
        send: async (_payload: ArrayBuffer, meta: JsonValue) => {
          const m = meta as unknown as StreamDocsMeta;
          if (m.split !== 'train') return;
          batches++;
          if (batches === 3) near = JSON.parse(JSON.stringify(m.state));
          if (m.state!.epoch === 0 && m.first > n * 0.95 && !far) far = JSON.parse(JSON.stringify(m.state));
          if (far) throw new Stop();
        },
      }, p);
    } catch (e) {
      if (!(e instanceof Stop)) throw e;
    }
    expect(near).not.toBeNull();
    expect(far).not.toBeNull();
    const bytesToFirstBatch = async (state: StreamShardState): Promise<number> => {
      const io = { bytes: 0 };
      await collect({ ...p, resume: state }, 1, io);
      return io.bytes;
    };
    const nearBytes = await bytesToFirstBatch(near!);
    const farBytes = await bytesToFirstBatch(far!);
    // eval head (one 1 MiB chunk), the 256 residents (16 KiB windows), one chunk at the source position
    expect(nearBytes).toBeLessThan(4 * 2 ** 20);
    expect(farBytes).toBeLessThan(4 * 2 ** 20);
    expect(Math.abs(farBytes - nearBytes)).toBeLessThan(1.5 * 2 ** 20);
    expect(farBytes).toBeLessThan(size / 10);
  }, 60_000);
});
