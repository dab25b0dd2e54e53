/**
 * VerifyAhead (verify-ahead.ts): while a send waits, the blocks of the next micro-batches are verified in
 * the order they will be read, at most maxBlocks ahead; micro-batches are handed out in the generator's
 * order whatever was drawn ahead; a send that does not wait gets no work ahead of it; a damaged batch
 * found ahead is left for its own read to refuse. Micro-batch k of the test generator holds rows
 * 4k..4k+3.
 */
import * as fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BlockSource } from './block-source';
import type { MicroBatchRows } from './block-order';
import { ensurePartOffsets } from './part-offsets';
import { SplitTokens } from './split-tokens';
import { randomDocs, writeSplit } from './test-cache';
import { VerifyAhead } from './verify-ahead';

function* fours(rowsOf: (k: number) => number[] = (k) => [4 * k, 4 * k + 1, 4 * k + 2, 4 * k + 3]): Generator<MicroBatchRows<number>, never> {
  for (let k = 0; ; k++) yield { epoch: 0, micro: k, microPerEpoch: 1e9, last: false, rows: rowsOf(k), next: k + 1 };
}

/**
 * A send that settles after n turns of the event loop. VerifyAhead does one step per turn, so the
 * work done ahead depends on n alone, not on how fast the machine is (a timer would: on a loaded
 * machine a 30 ms timer can fire after a single turn).
 */
function afterTurns(n: number): Promise<void> {
  return new Promise((resolve) => {
    const turn = (left: number): void => void (left === 0 ? resolve() : setImmediate(turn, left - 1));
    turn(n);
  });
}
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

describe('VerifyAhead', () => {
  it('verifies the next blocks while a send waits, in read order, at most maxBlocks ahead; hands out micro-batches in order', async () => {
    const seen: number[] = [];
    const ahead = new VerifyAhead(fours(), { verify: (i) => void seen.push(i) }, 10);
    expect(ahead.next().micro).toBe(0);
    expect(await ahead.whileWaiting(afterTurns(200))).toBe(true);
    // micro-batches 1, 2, 3 drawn (4 + 4 < 10 rows queued, then 12 ≥ 10): their rows, each once
    expect(seen).toEqual(range(4, 16));
    expect(ahead.next().rows).toEqual([4, 5, 6, 7]);
    await ahead.whileWaiting(afterTurns(200)); // 8 rows queued: one more micro-batch
    expect(seen).toEqual(range(4, 20));
    expect([1, 2, 3, 4].map(() => ahead.next().micro)).toEqual([2, 3, 4, 5]); // 5 from the generator
  });

  it('does nothing ahead of a send that does not wait, nor with maxBlocks 0', async () => {
    const seen: number[] = [];
    let drawn = 0;
    const now = new VerifyAhead(fours((k) => (drawn++, [k])), { verify: (i) => void seen.push(i) }, 10);
    now.next();
    expect(await now.whileWaiting(Promise.resolve())).toBe(false); // no wait
    expect(drawn).toBe(1); // not even a micro-batch drawn ahead
    const never = new VerifyAhead(fours(), { verify: (i) => void seen.push(i) }, 0);
    never.next();
    await never.whileWaiting(afterTurns(200));
    expect(seen).toEqual([]);
    expect(never.next().micro).toBe(1);
  });

  it('draws at most maxBlocks micro-batches ahead when they hold no rows (a rank with an empty slice)', async () => {
    let drawn = 0;
    const ahead = new VerifyAhead(fours(() => (drawn++, [])), { verify: () => undefined }, 5);
    await ahead.whileWaiting(afterTurns(200));
    expect(drawn).toBe(5);
  });

  it("rejects with the send's error", async () => {
    const ahead = new VerifyAhead(fours(), { verify: () => undefined }, 10);
    await expect(ahead.whileWaiting(afterTurns(3).then(() => Promise.reject(new Error('edge closed'))))).rejects.toThrow('edge closed');
  });

  describe('over a real cache', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-verify-ahead-'));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('a damaged batch found ahead is refused by its own read, after the blocks before it are served', async () => {
      const docs = randomDocs(40, 20, 21).map((d) => Int32Array.from([...d, 7, 7, 7, 7])); // ≥ 5 tokens each
      const parts = await writeSplit(dir, 'train', docs, 1, 5);
      const offsets = [await ensurePartOffsets(dir, parts[0], 'f'.repeat(64))];
      // packing: false, so row i is document i and rows 5b..5b+4 are record batch b
      const src = new BlockSource(SplitTokens.open(dir, parts, offsets), { cutoffLen: 64, packing: false, neatPacking: false });
      const [, , , valAt, value0] = offsets[0].batches[2];
      const fd = fs.openSync(path.join(dir, parts[0].file), 'r+');
      fs.writeSync(fd, Buffer.from([0xff]), 0, 1, valAt + 4 * value0 + 1); // batch 2: rows 10–14
      fs.closeSync(fd);
      const checked: number[] = [];
      const ahead = new VerifyAhead(fours(), { verify: (i) => (checked.push(i), src.verify(i)) }, 40);
      const first = ahead.next();
      await expect(ahead.whileWaiting(afterTurns(200))).resolves.toBe(true);
      expect(checked).toEqual(range(4, 11)); // rows 4..9 passed, row 10 failed: no more looked at
      const served = [...first.rows, ...ahead.next().rows, ...ahead.next().rows.slice(0, 2)].map((i) => Array.from(src.row(i).inputIds));
      expect(served).toEqual(docs.slice(0, 10).map((d) => Array.from(d)));
      expect(() => src.row(10)).toThrow(/record batch 2 \(rows 10–14\) does not match its checksum in the index/);
      src.tokens.close();
    });
  });
});
