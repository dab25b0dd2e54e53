/**
 * One epoch of the streamed training data: the datasets (each in this epoch's file order) merged by
 * `mix_strategy`, through a shuffle buffer of `buffer_size` seeded with `seed + epoch` — HF's
 * `IterableDataset.shuffle(buffer_size, seed)` after `set_epoch(epoch)`, which also shuffles the order of
 * each dataset's files. Memory: the buffer's documents, one open file per dataset, one read chunk each.
 *
 *   EpochStream.open(cfg, epoch, io, state?)  a fresh epoch, or one resumed from a snapshot
 *   next() → StreamDoc | null                 next document of the shuffled stream (null: epoch over)
 *   snapshot(emitted) → StreamShardState      positions only (resident documents by file and position)
 *
 * Resuming re-opens each dataset at its position and re-reads the buffer's residents by position
 * (fetchRecords), so its cost depends on the buffer size, not on how far into the data the run was.
 */
import type { StreamShardState } from '../../../schemas/stream-cursor';
import { PtflowError } from '../../errors';
import type { MixStrategy } from '../mix';
import type { BadRecordHandler } from '../readers';
import type { DatasetSpec } from '../registry';
import { Rng } from '../rng';
import { DatasetStream, type StreamDoc } from './dataset-stream';
import { fetchRecords, type Extent, type IoCounter } from './file-records';
import { StreamMixer } from './mixer';
import { ShuffleBuffer } from './shuffle-buffer';

export interface StreamConfig {
  datasets: DatasetSpec[];
  mixStrategy: MixStrategy;
  interleaveProbs: number[] | null;
  seed: number;
  bufferSize: number;
  /** Documents taken from the head of each epoch's shuffled stream (eval in epoch 0, skipped after). */
  valSize: number;
  chunkBytes?: number;
  /** on_bad_record: skip — bad records are reported here and passed over (absent: they throw). */
  onBadRecord?: BadRecordHandler;
}

/** Generator streams: the mixer uses Rng(seed + epoch) (stream 0, as mix.ts), the buffer stream 1, file orders 2 + dataset. */
const BUFFER_STREAM = 1;
const FILE_ORDER_STREAM = 2;

/** Order in which dataset `d`'s files are read in `epoch`. */
export function fileOrder(n: number, seed: number, epoch: number, d: number): number[] {
  if (n <= 1) return Array.from({ length: n }, (_, i) => i);
  return Array.from(new Rng(seed + epoch, FILE_ORDER_STREAM + d).permutation(n));
}

/** Global file ids: the files of all datasets numbered in order. */
export function fileTable(datasets: readonly DatasetSpec[]): { base: number[]; total: number } {
  const base: number[] = [];
  let total = 0;
  for (const d of datasets) {
    base.push(total);
    total += d.files.length;
  }
  return { base, total };
}

export class EpochStream {
  taken = 0;
  private ended = false;

  private constructor(
    readonly epoch: number,
    private readonly cfg: StreamConfig,
    private readonly sources: DatasetStream[],
    private readonly mixer: StreamMixer,
    private readonly buffer: ShuffleBuffer<StreamDoc>,
  ) {}

  static async open(cfg: StreamConfig, epoch: number, io: IoCounter, state?: StreamShardState): Promise<EpochStream> {
    const table = fileTable(cfg.datasets);
    if (state) checkState(cfg, state, table.total);
    const seed = cfg.seed + epoch;
    const sources = cfg.datasets.map(
      (spec, d) =>
        new DatasetStream(spec, table.base[d], fileOrder(spec.files.length, cfg.seed, epoch, d), { io, chunkBytes: cfg.chunkBytes, onBadRecord: cfg.onBadRecord }, state?.sources[d]),
    );
    const mixer = new StreamMixer(sources, cfg.mixStrategy, cfg.interleaveProbs, seed, state?.mix);
    let buffer: ShuffleBuffer<StreamDoc>;
    if (state) {
      const items = await residents(cfg, state.buffer.slots, io);
      buffer = ShuffleBuffer.restore(cfg.bufferSize, Rng.fromState(state.buffer.rng), state.buffer.phase, items);
    } else {
      buffer = new ShuffleBuffer<StreamDoc>(cfg.bufferSize, new Rng(seed, BUFFER_STREAM));
    }
    const s = new EpochStream(epoch, cfg, sources, mixer, buffer);
    if (state) {
      s.taken = state.taken;
      s.ended = state.ended;
    }
    return s;
  }

  async next(): Promise<StreamDoc | null> {
    while (!this.ended) {
      const d = await this.mixer.next();
      if (!d) {
        this.ended = true;
        this.buffer.end();
        await this.close();
        break;
      }
      const out = this.buffer.push(d);
      if (out) {
        this.taken++;
        return out;
      }
    }
    const x = this.buffer.pop();
    if (x) this.taken++;
    return x ?? null;
  }

  snapshot(emitted: number): StreamShardState {
    const slots: number[] = [];
    for (const d of this.buffer.items) slots.push(d.fileId, d.pos, d.next);
    return {
      epoch: this.epoch,
      taken: this.taken,
      emitted,
      ended: this.ended,
      sources: this.sources.map((s) => s.position()),
      mix: this.mixer.state(),
      buffer: { rng: this.buffer.rng.state(), phase: this.buffer.phase, slots },
      check: { files: fileTable(this.cfg.datasets).total, buffer_size: this.cfg.bufferSize, seed: this.cfg.seed, val_size: this.cfg.valSize },
    };
  }

  async close(): Promise<void> {
    for (const s of this.sources) await s.close();
  }
}

function checkState(cfg: StreamConfig, st: StreamShardState, files: number): void {
  const want = { files, buffer_size: cfg.bufferSize, seed: cfg.seed, val_size: cfg.valSize };
  for (const k of Object.keys(want) as (keyof typeof want)[]) {
    if (st.check[k] !== want[k]) {
      throw new PtflowError(
        `the checkpoint's stream cursor was made with ${k === 'files' ? 'a dataset of' : k + '='}${st.check[k]}${k === 'files' ? ' files' : ''}, ` +
          `but the run now has ${k === 'files' ? '' : k + '='}${want[k]}${k === 'files' ? ' files' : ''}: resuming would not continue the same stream`,
        2,
      );
    }
  }
  if (st.sources.length !== cfg.datasets.length) {
    throw new PtflowError(`the checkpoint's stream cursor has ${st.sources.length} datasets, the config names ${cfg.datasets.length}`, 2);
  }
}

/** Re-read the buffer's resident documents by position, grouped by file. */
async function residents(cfg: StreamConfig, slots: readonly number[], io: IoCounter): Promise<StreamDoc[]> {
  const table = fileTable(cfg.datasets);
  const byFile = new Map<number, Extent[]>();
  for (let i = 0; i < slots.length; i += 3) {
    const list = byFile.get(slots[i]) ?? [];
    list.push({ pos: slots[i + 1], next: slots[i + 2] });
    byFile.set(slots[i], list);
  }
  const texts = new Map<number, Map<number, string>>();
  for (const [fileId, extents] of byFile) {
    if (fileId >= table.total) throw new PtflowError(`stream cursor names file #${fileId}, but the datasets have ${table.total} files`, 2);
    let d = 0;
    while (d + 1 < table.base.length && table.base[d + 1] <= fileId) d++;
    const spec = cfg.datasets[d];
    const ref = { file: spec.files[fileId - table.base[d]], format: spec.format, textColumn: spec.textColumn };
    texts.set(fileId, await fetchRecords(ref, extents, io, cfg.chunkBytes, cfg.onBadRecord !== undefined));
  }
  const out: StreamDoc[] = [];
  for (let i = 0; i < slots.length; i += 3) {
    out.push({ text: texts.get(slots[i])!.get(slots[i + 1])!, fileId: slots[i], pos: slots[i + 1], next: slots[i + 2] });
  }
  return out;
}
