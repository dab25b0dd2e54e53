import type { JsonValue } from '../../../schemas/ports';
import type { StreamShardState } from '../../../schemas/stream-cursor';
import { encodeTokenizedDocs } from '../../../schemas/tokenized-docs';
import { decodeTrainBatch } from '../../../schemas/train-batch';
import type { TrainBatchMeta } from '../../../schemas/train-batch-meta';
import { newStreamCollatorMemory, runStreamCollator, type BatchIn, type StreamCollatorParams } from './collator-stream';
import type { StreamDocsMeta } from './shard-stream';

function state(emitted: number, epoch = 0): StreamShardState {
  return {
    epoch, taken: emitted, emitted, ended: false, sources: [], mix: { rng: null, turn: 0, exhausted: [] },
    buffer: { rng: { s: [1, 2, 3, 4] }, phase: 'fill', slots: [] }, check: { files: 1, buffer_size: 1, seed: 0, val_size: 0 },
  };
}

/** Two eval batches, then training batches; token ids count up from 1 in eval and from 1000 in train. */
function messages(): BatchIn[] {
  const out: BatchIn[] = [];
  let t = 1;
  const doc = (n: number): Int32Array => Int32Array.from({ length: n }, () => t++);
  for (const [i, lens] of [[3, 4], [5]].entries()) {
    const meta: StreamDocsMeta = { split: 'eval', first: i * 2, count: lens.length, epoch: 0, state: null };
    out.push({ payload: encodeTokenizedDocs(lens.map((_, k) => i * 2 + k), lens.map(doc)), meta: meta as unknown as JsonValue });
  }
  t = 1000;
  let emitted = 0;
  for (const lens of [[9, 2], [1, 1, 1], [13], [4, 6, 3], [7, 7], [2]]) {
    const meta: StreamDocsMeta = { split: 'train', first: emitted, count: lens.length, epoch: 0, state: state(emitted) };
    out.push({ payload: encodeTokenizedDocs(lens.map((_, k) => emitted + k), lens.map(doc)), meta: meta as unknown as JsonValue });
    emitted += lens.length;
  }
  return out;
}

interface Sink {
  sent: { ids: number[]; meta: TrainBatchMeta | null }[];
  ended: boolean;
  send(payload: ArrayBuffer, meta: JsonValue): Promise<void>;
  end(): void;
}

function sink(failAt = 0): Sink {
  let calls = 0;
  const s: Sink = {
    sent: [],
    ended: false,
    async send(payload, meta) {
      if (++calls === failAt) throw new Error('send failed');
      s.sent.push({ ids: Array.from(decodeTrainBatch(payload).inputIds), meta: meta as unknown as TrainBatchMeta | null });
    },
    end() {
      s.ended = true;
    },
  };
  return s;
}

const params: StreamCollatorParams = {
  cutoff_len: 4, packing: true, neat_packing: false, add_bos: false, bos_id: null, pad_id: 0, train_batch_size: 2, eval_batch_size: 2,
  train: true, resume: null,
};

async function* from(list: BatchIn[], start = 0, onTake?: (i: number) => void): AsyncGenerator<BatchIn> {
  for (let i = start; i < list.length; i++) {
    onTake?.(i);
    yield list[i];
  }
}

describe('runStreamCollator', () => {
  it('sends all eval blocks (then ends eval) before the first training micro-batch; training blocks as they fill', async () => {
    const ev = sink();
    const tr = sink();
    const r = await runStreamCollator(from(messages()), ev, tr, params);
    // eval: 12 tokens 1..12 → 3 blocks of 4, in batches of 2 blocks
    expect(ev.sent.map((b) => b.ids)).toEqual([[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12]]);
    expect(ev.ended).toBe(true);
    // train: 56 tokens 1000..1055 → 14 blocks → 7 micro-batches of 2 blocks (8 tokens each)
    expect(tr.sent.map((b) => b.ids)).toEqual(Array.from({ length: 7 }, (_, k) => Array.from({ length: 8 }, (_, j) => 1000 + 8 * k + j)));
    expect(tr.sent.map((b) => [b.meta!.micro, b.meta!.microPerEpoch, b.meta!.blocks, b.meta!.tokens])).toEqual(
      Array.from({ length: 7 }, (_, k) => [k, null, null, 8]),
    );
    // micro-batch 1 ends after token 1007 = doc 0 (9 tokens 1000..1008) of batch 0 at offset 8
    expect(tr.sent[0].meta!.cursor).toMatchObject({ kind: 'stream', doc: 0, token: 8, micro: 1 });
    expect(r).toEqual({ eval_blocks: 3, micro_batches: 7 });
  });

  it('rank r of 2 sends the r-th half of each global micro-batch of 2 × 2 blocks, with the global cursor', async () => {
    const block = (k: number): number[] => Array.from({ length: 4 }, (_, j) => 1000 + 4 * k + j); // train block k
    const one = sink();
    await runStreamCollator(from(messages()), sink(), one, { ...params, train_batch_size: 4 });
    const ranks = [sink(), sink()];
    for (const r of [0, 1]) await runStreamCollator(from(messages()), sink(), ranks[r], { ...params, rank: r, world_size: 2 });
    // 14 blocks → 3 global micro-batches of 4 (blocks 12, 13 wait for a fourth): rank 0 blocks 4m, 4m+1; rank 1 4m+2, 4m+3
    for (const r of [0, 1]) expect(ranks[r].sent.map((b) => b.ids)).toEqual([0, 1, 2].map((m) => [...block(4 * m + 2 * r), ...block(4 * m + 2 * r + 1)]));
    expect(one.sent.map((b) => b.ids)).toEqual([0, 1, 2].map((m) => [0, 1, 2, 3].flatMap((j) => block(4 * m + j))));
    for (const r of [0, 1]) {
      expect(ranks[r].sent.map((b) => b.meta!.cursor)).toEqual(one.sent.map((b) => b.meta!.cursor));
      expect(ranks[r].sent.map((b) => [b.meta!.micro, b.meta!.tokens])).toEqual([[0, 8], [1, 8], [2, 8]]);
    }
  });

  it('a restart mid-message (re-delivered) sends every micro-batch exactly once', async () => {
    const full = sink();
    await runStreamCollator(from(messages()), sink(), full, params);
    const list = messages();
    for (const failAt of [1, 2, 3, 4, 5, 6, 7]) {
      // the n-th training send fails; the stage runs again from the message in work
      const ev = sink();
      const tr = sink(failAt);
      const mem = newStreamCollatorMemory(params);
      let taken = -1;
      await expect(runStreamCollator(from(list, 0, (i) => (taken = i)), ev, tr, params, mem)).rejects.toThrow('send failed');
      await runStreamCollator(from(list, taken), ev, tr, params, mem);
      expect(tr.sent.map((b) => b.ids)).toEqual(full.sent.map((b) => b.ids));
      expect(tr.sent.map((b) => b.meta!.cursor)).toEqual(full.sent.map((b) => b.meta!.cursor));
    }
    // a failure before handling a message (hook) and one in the eval phase
    for (const n of [1, 2, 3, 6]) {
      const ev = sink();
      const tr = sink();
      const mem = newStreamCollatorMemory(params);
      let taken = -1;
      const hook = (k: number): void => {
        if (k === n) throw new Error('injected');
      };
      await expect(runStreamCollator(from(list, 0, (i) => (taken = i)), ev, tr, params, mem, hook)).rejects.toThrow('injected');
      await runStreamCollator(from(list, taken), ev, tr, params, mem);
      expect(ev.sent.map((b) => b.ids)).toEqual([[1, 2, 3, 4, 5, 6, 7, 8], [9, 10, 11, 12]]);
      expect(tr.sent.map((b) => b.ids)).toEqual(full.sent.map((b) => b.ids));
    }
  });
});
