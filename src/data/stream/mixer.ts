/**
 * Several dataset streams merged into one (`mix_strategy`), streamed rather than materialised, with the
 * semantics of src/data/mix.ts (LLaMA-Factory's merge over HF's map-style interleave):
 *
 *   concat            one dataset after the other
 *   interleave_under  first_exhausted: stop once any dataset has been used up
 *   interleave_over   all_exhausted: a used-up dataset starts over until every one was used up once
 *   interleave_once   every document exactly once
 *
 * Without `interleave_probs` the datasets take turns; with them each document's dataset is drawn from
 * `Rng(seed)` (the same draws as mix.ts for the same seed). The stopping test runs before each draw, so
 * the document that uses a dataset up is kept. `state()` / the constructor's `state` resume it exactly.
 */
import type { MixState } from '../../../schemas/stream-cursor';
import { PtflowError } from '../../errors';
import type { MixStrategy } from '../mix';
import { Rng, cumulativeProbs } from '../rng';
import type { DatasetStream, StreamDoc } from './dataset-stream';

export class StreamMixer {
  private readonly rng: Rng | null;
  private readonly cdf: Float64Array | null;
  private turn: number;
  private readonly exhausted: boolean[];
  private checkedEmpty = false;

  constructor(
    private readonly sources: DatasetStream[],
    private readonly strategy: MixStrategy,
    probs: readonly number[] | null,
    seed: number,
    state?: MixState,
  ) {
    const k = sources.length;
    if (k === 0) throw new PtflowError('streaming: no datasets to read');
    const interleaving = k > 1 && strategy !== 'concat';
    if (interleaving && probs) {
      if (probs.length !== k) throw new PtflowError(`interleave_probs has ${probs.length} values for ${k} datasets`, 2);
      this.cdf = cumulativeProbs(probs, 'interleave_probs');
      if (strategy !== 'interleave_under') {
        const starved = probs.findIndex((p) => p === 0);
        if (starved >= 0) throw new PtflowError(`interleave_probs gives dataset #${starved + 1} probability 0, so it can never be used up (${strategy})`, 2);
      }
    } else this.cdf = null;
    this.rng = this.cdf ? (state?.rng ? Rng.fromState(state.rng) : new Rng(seed)) : null;
    this.turn = state?.turn ?? 0;
    this.exhausted = state?.exhausted ? [...state.exhausted] : new Array<boolean>(k).fill(false);
    if (this.exhausted.length !== k) throw new PtflowError(`stream cursor: mixer state for ${this.exhausted.length} datasets, but ${k} are configured`);
    if (state) this.checkedEmpty = true;
  }

  state(): MixState {
    return { rng: this.rng ? this.rng.state() : null, turn: this.turn, exhausted: [...this.exhausted] };
  }

  private get exhaustedCount(): number {
    return this.exhausted.filter(Boolean).length;
  }

  /** Take from source `s`, restarting it first when all_exhausted has used it up; mark it used up after its last document. */
  private async takeFrom(s: number, restart: boolean): Promise<StreamDoc | null> {
    const src = this.sources[s];
    if (restart && (await src.peek()) === null) await src.restart();
    const d = await src.take();
    if (d && (await src.peek()) === null) this.exhausted[s] = true;
    return d;
  }

  /** The next document of the merged stream (null: this epoch's stream has ended). */
  async next(): Promise<StreamDoc | null> {
    const k = this.sources.length;
    if (!this.checkedEmpty && k > 1 && this.strategy !== 'concat') {
      for (const s of this.sources) if ((await s.peek()) === null) throw new PtflowError(`mix_strategy ${this.strategy}: dataset "${s.name}" has no documents`);
      this.checkedEmpty = true;
    }
    if (k === 1 || this.strategy === 'concat') {
      while (this.turn < k) {
        const d = await this.sources[this.turn].take();
        if (d) return d;
        this.turn++;
      }
      return null;
    }
    const once = this.strategy === 'interleave_once';
    const over = this.strategy === 'interleave_over';
    if (this.cdf && this.rng) {
      for (;;) {
        if (this.strategy === 'interleave_under' ? this.exhaustedCount > 0 : this.exhaustedCount === k) return null;
        const s = this.rng.choice(this.cdf);
        if (once && this.exhausted[s]) continue;
        return this.takeFrom(s, over);
      }
    }
    // Round robin.
    for (;;) {
      if (this.turn === 0 && (this.strategy === 'interleave_under' ? this.exhaustedCount > 0 : this.exhaustedCount === k)) return null;
      const s = this.turn;
      this.turn = (this.turn + 1) % k;
      if (once && this.exhausted[s]) continue;
      return this.takeFrom(s, over);
    }
  }
}
