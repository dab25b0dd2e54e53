/**
 * The seeded shuffle buffer of a streamed dataset, Hugging Face datasets' `BufferShuffledExamplesIterable`
 * algorithm with ptflow's generator:
 *
 *   fill the buffer with the first `size` items; for each further item pick a random slot i, yield
 *   buffer[i] and put the new item there; when the input ends, shuffle what is left and yield it all.
 *
 *   const b = new ShuffleBuffer<T>(size, rng)
 *   b.push(x) → T | undefined     the item pushed out (undefined while filling)
 *   b.end()                       the input has ended: shuffle the rest (Fisher–Yates, `Rng.permutation`)
 *   b.pop() → T | undefined       next item of the final drain (undefined: empty)
 *   b.items / b.phase / b.rng     for snapshots; `ShuffleBuffer.restore(size, rng, phase, items)`
 *
 * HF draws slots from numpy's PCG64 (`rng.integers(0, size, 1000)` in batches) and shuffles with numpy;
 * we draw with xoshiro128** (`Rng.nextBelow`, one draw per slot), so for the same seed the order differs
 * from HF's while the algorithm and its distribution are the same.
 */
import { PtflowError } from '../../errors';
import type { Rng } from '../rng';

/** What the buffer draws from (an `Rng`; tests script it). */
export type SlotRng = Pick<Rng, 'nextBelow' | 'permutation' | 'state'>;

export type BufferPhase = 'fill' | 'stream' | 'drain';

export class ShuffleBuffer<T> {
  private buf: T[] = [];
  private drainAt = 0;
  private ph: BufferPhase = 'fill';

  constructor(
    readonly size: number,
    readonly rng: SlotRng,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new PtflowError(`buffer_size must be a positive integer, got ${size}`, 2);
  }

  /** A buffer in a saved state: `items` in slot order ('fill'/'stream') or in drain order ('drain'). */
  static restore<T>(size: number, rng: SlotRng, phase: BufferPhase, items: T[]): ShuffleBuffer<T> {
    const b = new ShuffleBuffer<T>(size, rng);
    if (items.length > size) throw new PtflowError(`shuffle buffer state holds ${items.length} documents, more than buffer_size ${size}`);
    if (phase === 'stream' && items.length !== size) throw new PtflowError(`shuffle buffer state: a full buffer must hold ${size} documents, got ${items.length}`);
    b.buf = items;
    b.ph = phase;
    return b;
  }

  get phase(): BufferPhase {
    return this.ph;
  }

  /** Resident items: slot order while filling/streaming, remaining drain order while draining. */
  get items(): readonly T[] {
    return this.ph === 'drain' ? this.buf.slice(this.drainAt) : this.buf;
  }

  get length(): number {
    return this.buf.length - (this.ph === 'drain' ? this.drainAt : 0);
  }

  push(x: T): T | undefined {
    if (this.ph === 'drain') throw new Error('shuffle buffer: push after end');
    if (this.buf.length < this.size) {
      this.buf.push(x);
      if (this.buf.length === this.size) this.ph = 'stream';
      return undefined;
    }
    const i = this.rng.nextBelow(this.size);
    const out = this.buf[i];
    this.buf[i] = x;
    return out;
  }

  end(): void {
    if (this.ph === 'drain') return;
    const perm = this.rng.permutation(this.buf.length);
    this.buf = Array.from(perm, (j) => this.buf[j]);
    this.drainAt = 0;
    this.ph = 'drain';
  }

  pop(): T | undefined {
    if (this.ph !== 'drain') throw new Error('shuffle buffer: pop before end');
    if (this.drainAt >= this.buf.length) return undefined;
    const x = this.buf[this.drainAt];
    this.buf[this.drainAt++] = undefined as T; // let it be collected
    return x;
  }
}
