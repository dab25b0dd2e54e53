import { Rng } from '../rng';
import { ShuffleBuffer, type SlotRng } from './shuffle-buffer';

/** A generator that replays scripted draws, so the algorithm can be traced by hand. */
function scripted(slots: number[], perm: number[]): SlotRng {
  return {
    nextBelow: (n: number) => {
      const v = slots.shift();
      if (v === undefined || v >= n) throw new Error(`unexpected draw below ${n}`);
      return v;
    },
    permutation: (n: number) => {
      if (n !== perm.length) throw new Error(`permutation of ${n}, scripted ${perm.length}`);
      return Uint32Array.from(perm);
    },
    state: () => ({ s: [1, 2, 3, 4] }),
  };
}

function run<T>(b: ShuffleBuffer<T>, input: T[]): T[] {
  const out: T[] = [];
  for (const x of input) {
    const y = b.push(x);
    if (y !== undefined) out.push(y);
  }
  b.end();
  for (let y = b.pop(); y !== undefined; y = b.pop()) out.push(y);
  return out;
}

/** HF's BufferShuffledExamplesIterable.__iter__, transcribed plainly (second implementation). */
function* hfShuffle<T>(input: T[], size: number, rng: Rng): Generator<T> {
  const mem: T[] = [];
  for (const x of input) {
    if (mem.length === size) {
      const i = rng.nextBelow(size);
      yield mem[i];
      mem[i] = x;
    } else mem.push(x);
  }
  const p = rng.permutation(mem.length);
  for (const j of p) yield mem[j];
}

describe('ShuffleBuffer', () => {
  it('follows the hand-traced case', () => {
    // size 3, input a..g, slot draws 2,0,2,1, final permutation [2,0,1]:
    // fill [a b c]; d→slot 2 yields c [a b d]; e→slot 0 yields a [e b d]; f→slot 2 yields d [e b f];
    // g→slot 1 yields b [e g f]; end: [f e g].
    const b = new ShuffleBuffer<string>(3, scripted([2, 0, 2, 1], [2, 0, 1]));
    expect(run(b, ['a', 'b', 'c', 'd', 'e', 'f', 'g'])).toEqual(['c', 'a', 'd', 'b', 'f', 'e', 'g']);
  });

  it('input shorter than the buffer: only the final shuffle', () => {
    const b = new ShuffleBuffer<string>(5, scripted([], [1, 0]));
    expect(run(b, ['x', 'y'])).toEqual(['y', 'x']);
  });

  it('equals a plain transcription of the HF algorithm with the same generator', () => {
    const input = Array.from({ length: 500 }, (_, i) => i);
    for (const size of [1, 7, 64, 499, 500, 1000]) {
      const got = run(new ShuffleBuffer<number>(size, new Rng(42, 1)), input);
      expect(got).toEqual([...hfShuffle(input, size, new Rng(42, 1))]);
      expect([...got].sort((a, b) => a - b)).toEqual(input);
    }
  });

  it('size 1 keeps the order', () => {
    expect(run(new ShuffleBuffer<number>(1, new Rng(3)), [5, 6, 7, 8])).toEqual([5, 6, 7, 8]);
  });

  it('restores from a snapshot in every phase and continues identically', () => {
    const input = Array.from({ length: 100 }, (_, i) => i);
    const full = run(new ShuffleBuffer<number>(16, new Rng(9, 1)), input);
    for (const cut of [0, 5, 16, 40, 100, 103, 110]) {
      // run up to `cut` outputs (including drain), snapshot, restore, finish
      const rng = new Rng(9, 1);
      const b = new ShuffleBuffer<number>(16, rng);
      const out: number[] = [];
      let i = 0;
      while (out.length < cut && i < input.length) {
        const y = b.push(input[i++]);
        if (y !== undefined) out.push(y);
      }
      if (out.length < cut) {
        b.end();
        while (out.length < cut) out.push(b.pop()!);
      }
      const r = ShuffleBuffer.restore<number>(16, Rng.fromState(rng.state()), b.phase, [...b.items]);
      for (; i < input.length; i++) {
        const y = r.push(input[i]);
        if (y !== undefined) out.push(y);
      }
      r.end();
      for (let y = r.pop(); y !== undefined; y = r.pop()) out.push(y);
      expect(out).toEqual(full);
    }
  });

  it('spreads the first document over the output (not stuck near the front)', () => {
    // With buffer B, item 0 leaves at output k ≥ 0 with P = (1/B)(1-1/B)^k: mean ≈ B-1 for a long input.
    let sum = 0;
    const trials = 400;
    for (let t = 0; t < trials; t++) {
      const out = run(new ShuffleBuffer<number>(10, new Rng(t, 1)), Array.from({ length: 300 }, (_, i) => i));
      sum += out.indexOf(0);
    }
    expect(sum / trials).toBeGreaterThan(7);
    expect(sum / trials).toBeLessThan(11);
  });

  it('rejects a bad size and an oversized state', () => {
    expect(() => new ShuffleBuffer(0, new Rng(1))).toThrow(/buffer_size must be a positive integer/);
    expect(() => ShuffleBuffer.restore(2, new Rng(1), 'fill', [1, 2, 3])).toThrow(/holds 3 documents, more than buffer_size 2/);
  });
});
