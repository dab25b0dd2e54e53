/**
 * Sums every rank's gradients (data-parallel training), Horovod/DDP style: the gradients are copied
 * into fused flat float32 buckets of about `bucketBytes`, in reverse parameter order (the order a
 * backward pass finishes them: last layer first), and each bucket's allreduce is started as soon as
 * the bucket is full, so the transfer of one bucket runs while the next is being filled; then the
 * sums are copied back into tensors.
 *
 *   const buckets = new GradBuckets(layout);           // once per run: the buffers are reused
 *   const stream = new GradStream(buckets, collective); // once per step
 *   stream.offer(name, grad);                          // during backward, as each gradient is final
 *   const { grads, stats } = await stream.finish(acc);  // the rest, then wait for every bucket
 *
 * During the backward pass: tfjs computes all gradients in one synchronous `variableGrads` call, but
 * LlamaModel.setGradientHook routes each trainable base parameter through an identity op whose
 * gradient function receives the parameter's final gradient while the pass goes on with the earlier
 * layers; TrainStep offers it here, and a bucket's allreduce (on the MPI addon's thread) starts once
 * its last tensor is in. LoRA adapters, and models without the hook, hand everything over at the
 * end; then the transfer of bucket k overlaps the read-out of bucket k + 1. `stats` says how much of
 * the reduce time was hidden, and how many bytes started during the backward pass.
 *
 * Gradients go from the backend straight into the bucket (readFloat32Into: no intermediate copy), and
 * the buckets are allocated once per run: fresh buffers of this size cost more than the copy itself,
 * the first write to each new page being a page fault (bench/ddp-train.ts measures it).
 *
 * Every rank must pass the same layout (names, shapes, order): a gradient a rank does not have (it
 * had no labelled token this step) is sent as zeros.
 *
 * Row-sparse parameter. An untied token embedding's gradient is zero outside the rows of the step's
 * input ids, so only those rows need summing: with `rowSparse` it has a bucket of its own, last (the
 * backward pass finishes it last), and each step sends just the rows of the union of every rank's ids
 * (`rows`, the same on every rank; TrainStep.stepAcross finds it in the collective that sums the label
 * counts). A row outside the union is zero on every rank, so the sums are those of the dense allreduce:
 * bit for bit with 2 ranks, and on one machine (the shared-memory sum adds in rank order); with more
 * ranks over MPI's own allreduce, whose order of addition may depend on an element's place in the
 * buffer and the buffer's length, up to float32 summation order. At the reference shape with a 32000-token vocabulary a step's 8 × 128 ids touch at
 * most 1024 rows (1 MiB) instead of 31 MiB, and it is the one bucket that cannot overlap the backward
 * pass.
 */
import { borrowFloat32 } from '../engine/io/tf-tensor-source';
import * as tf from '@tensorflow/tfjs-core';
import { readFloat32Into, tensorFromFloat32 } from '../engine/tensor-io';
import type { Collective } from './collective';

/** The trainable parameters' names and shapes, in the model's order. */
export type GradLayout = ReadonlyArray<{ name: string; shape: readonly number[]; size: number }>;

export function gradLayout(params: ReadonlyMap<string, tf.Variable>): GradLayout {
  return [...params].map(([name, v]) => ({ name, shape: v.shape, size: v.size }));
}

/** 25 MiB, torch DDP's default `bucket_cap_mb`. */
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

export interface ReduceStats {
  buckets: number;
  bytes: number;
  /** From the first bucket's allreduce start to the last one's end. */
  reduceMs: number;
  /** Of reduceMs, the time spent waiting after every bucket was handed over (not hidden). */
  waitMs: number;
  /** Bytes whose allreduce started during the backward pass (GradStream.offer before finish). */
  earlyBytes: number;
  /** Time spent copying the gradients into the buckets and the sums back into tensors. */
  copyMs: number;
}

interface Bucket {
  entries: GradLayout[number][];
  buf: Float32Array;
  /** The row-sparse parameter's bucket: its one entry is [rows, cols]; `buf` holds the step's rows packed. */
  sparse?: { cols: number };
}

function planBuckets(layout: GradLayout, bucketBytes: number, rowSparse: string | undefined): Bucket[] {
  const buckets: Bucket[] = [];
  let cur: GradLayout[number][] = [];
  let elems = 0;
  const close = (): void => {
    if (cur.length === 0) return;
    buckets.push({ entries: cur, buf: new Float32Array(elems) });
    cur = [];
    elems = 0;
  };
  for (let i = layout.length - 1; i >= 0; i--) {
    if (layout[i].name === rowSparse) continue;
    cur.push(layout[i]);
    elems += layout[i].size;
    if (elems * 4 >= bucketBytes) close();
  }
  close();
  const sparse = layout.find((e) => e.name === rowSparse);
  if (rowSparse !== undefined) {
    if (sparse === undefined) throw new Error(`gradient allreduce: row-sparse "${rowSparse}" is not a trainable parameter`);
    if (sparse.shape.length !== 2) throw new Error(`gradient allreduce: row-sparse "${rowSparse}" is [${sparse.shape.join(', ')}], not a matrix`);
    buckets.push({ entries: [sparse], buf: new Float32Array(sparse.size), sparse: { cols: sparse.shape[1] } });
  }
  return buckets;
}

/** The fused buffers of a layout and where each parameter lies in them; reused by every step's GradStream. */
export class GradBuckets {
  readonly buckets: Bucket[];
  readonly where = new Map<string, { bucket: number; offset: number; size: number }>();
  /**
   * The row-sparse parameter's summed gradient, dense, and the rows the last step wrote into it
   * (zeroed by the next step: the other rows stay zero).
   */
  readonly sparseOut: { values: Float32Array; rows: Int32Array } | null;

  /** `rowSparse`: the name of a parameter reduced by rows (see the top of this file). */
  constructor(
    readonly layout: GradLayout,
    bucketBytes = DEFAULT_BUCKET_BYTES,
    readonly rowSparse?: string,
  ) {
    this.buckets = planBuckets(layout, bucketBytes, rowSparse);
    const last = this.buckets[this.buckets.length - 1];
    this.sparseOut = last?.sparse ? { values: new Float32Array(last.buf.length), rows: new Int32Array(0) } : null;
    this.buckets.forEach((b, i) => {
      let offset = 0;
      for (const e of b.entries) {
        this.where.set(e.name, { bucket: i, offset, size: e.size });
        offset += e.size;
      }
    });
  }
}

/**
 * The allreduce of one step's gradients, fed as they become final: `offer` takes one parameter's
 * gradient (copied at once) while the backward pass is still running, and a bucket's allreduce
 * starts as soon as every tensor of it has been offered and the buckets before it have started
 * (the same call order on every rank, whenever each rank offers); `finish` takes the gradients of
 * the whole step, fills in the tensors not offered, starts the remaining buckets and waits.
 */
export class GradStream {
  private readonly layout: GradLayout;
  private readonly buckets: Bucket[];
  private readonly where: GradBuckets['where'];
  private readonly sparseOut: GradBuckets['sparseOut'];
  private readonly missing: number[];
  private readonly offered = new Set<string>();
  private readonly pending: Promise<void>[] = [];
  private started = 0;
  private t0 = 0;
  private bytes = 0;
  /** Bytes whose allreduce started before `finish` (during the backward pass). */
  private earlyBytes = 0;
  private copyMs = 0;
  private finishing = false;

  /**
   * `plan`: the run's GradBuckets (no step of it may still be running), or a layout to plan afresh.
   * `rows`: with a row-sparse parameter in the plan, the rows of it any rank's gradient may have
   * non-zero this step (ascending, the same on every rank).
   */
  constructor(
    plan: GradBuckets | GradLayout,
    private readonly collective: Collective,
    bucketBytes = DEFAULT_BUCKET_BYTES,
    private readonly rows: Int32Array | null = null,
  ) {
    const b = plan instanceof GradBuckets ? plan : new GradBuckets(plan, bucketBytes);
    this.layout = b.layout;
    this.buckets = b.buckets;
    this.where = b.where;
    this.sparseOut = b.sparseOut;
    this.missing = this.buckets.map((x) => x.entries.length);
    if (b.sparseOut !== null) {
      const e = b.buckets[b.buckets.length - 1].entries[0];
      if (rows === null) throw new Error(`gradient allreduce: no rows given for row-sparse "${e.name}"`);
      const n = e.shape[0];
      for (let k = 0; k < rows.length; k++) {
        if (!(rows[k] >= 0 && rows[k] < n && (k === 0 || rows[k] > rows[k - 1]))) {
          throw new Error(`gradient allreduce: rows of "${e.name}" must ascend within [0, ${n}); row ${k} is ${rows[k]}`);
        }
      }
    }
  }

  /** This rank's final gradient of `name` for the step (not kept: copied into its bucket). */
  offer(name: string, grad: tf.Tensor | ArrayLike<number>): void {
    const at = this.where.get(name);
    if (!at) throw new Error(`gradient allreduce: "${name}" is not a trainable parameter`);
    if (this.offered.has(name)) throw new Error(`gradient allreduce: "${name}" was handed over twice in one step`);
    const n = grad instanceof tf.Tensor ? grad.size : grad.length;
    if (n !== at.size) throw new Error(`gradient allreduce: "${name}" has ${n} values, expected ${at.size}`);
    this.offered.add(name);
    const c0 = performance.now();
    const bucket = this.buckets[at.bucket];
    if (bucket.sparse) gatherRows(grad instanceof tf.Tensor ? borrowFloat32(grad) : grad, this.rows as Int32Array, bucket.sparse.cols, bucket.buf);
    else if (grad instanceof tf.Tensor) readFloat32Into(grad, bucket.buf, at.offset);
    else bucket.buf.set(grad, at.offset);
    this.copyMs += performance.now() - c0;
    this.missing[at.bucket]--;
    this.startReady();
  }

  /**
   * Replaces `grads` (taken over: disposed) by their sum over all ranks; a gradient neither offered
   * nor in `grads` (this rank had no labelled token for it) counts as zeros. `alsoSum` (e.g. the
   * step's loss) is summed over the ranks in place, in a collective queued after the last bucket's,
   * so every rank calls the collectives in the same order whatever it offered during backward.
   */
  async finish(grads: Map<string, tf.Tensor>, alsoSum?: Float64Array): Promise<{ grads: Map<string, tf.Tensor>; stats: ReduceStats }> {
    const early = this.earlyBytes;
    this.finishing = true;
    try {
      for (const e of this.layout) {
        if (this.offered.has(e.name)) continue;
        const g = grads.get(e.name);
        if (g) this.offer(e.name, g);
        else {
          // Zeros: the bucket may still hold an earlier step's values (GradBuckets are reused).
          const at = this.where.get(e.name) as { bucket: number; offset: number; size: number };
          this.buckets[at.bucket].buf.fill(0, at.offset, at.offset + this.sentSize(this.buckets[at.bucket], at.size));
          this.offered.add(e.name);
          this.missing[at.bucket]--;
          this.startReady();
        }
      }
    } finally {
      for (const g of grads.values()) g.dispose();
    }
    const handedOver = performance.now();
    const also = alsoSum !== undefined ? this.collective.allreduce(alsoSum, 'sum') : null;
    await Promise.all(this.pending);
    const end = performance.now();
    await also;
    const out = new Map<string, tf.Tensor>();
    for (const e of this.layout) {
      const at = this.where.get(e.name) as { bucket: number; offset: number };
      const bucket = this.buckets[at.bucket];
      if (bucket.sparse) out.set(e.name, tensorFromFloat32(this.scatterSums(bucket), e.shape));
      else out.set(e.name, tensorFromFloat32(bucket.buf.subarray(at.offset, at.offset + e.size), e.shape));
    }
    this.copyMs += performance.now() - end;
    return {
      grads: out,
      stats: {
        buckets: this.buckets.length, bytes: this.bytes, reduceMs: end - this.t0, waitMs: end - handedOver, earlyBytes: early, copyMs: this.copyMs,
      },
    };
  }

  /** Starts, in bucket order, every bucket whose tensors are all in. */
  private startReady(): void {
    while (this.started < this.buckets.length && this.missing[this.started] === 0) {
      const b = this.buckets[this.started++];
      if (this.pending.length === 0) this.t0 = performance.now();
      const sent = b.buf.subarray(0, this.sentSize(b, b.buf.length));
      this.pending.push(this.collective.allreduce(sent, 'sum'));
      this.bytes += sent.byteLength;
      if (!this.finishing) this.earlyBytes += sent.byteLength;
    }
  }

  /** Values of the bucket sent this step: all of `size`, or the step's rows of a row-sparse one. */
  private sentSize(b: Bucket, size: number): number {
    return b.sparse ? (this.rows as Int32Array).length * b.sparse.cols : size;
  }

  /** The row-sparse parameter's sums as a dense matrix: last step's rows zeroed, this step's written. */
  private scatterSums(b: Bucket): Float32Array {
    const out = this.sparseOut as NonNullable<GradBuckets['sparseOut']>;
    const cols = (b.sparse as { cols: number }).cols;
    for (const r of out.rows) out.values.fill(0, r * cols, (r + 1) * cols);
    const rows = this.rows as Int32Array;
    for (let k = 0; k < rows.length; k++) out.values.set(b.buf.subarray(k * cols, (k + 1) * cols), rows[k] * cols);
    out.rows = rows;
    return out.values;
  }
}

/** `dst` ← the rows `rows` of the row-major matrix `src` (`cols` wide), packed. */
function gatherRows(src: ArrayLike<number>, rows: Int32Array, cols: number, dst: Float32Array): void {
  if (src instanceof Float32Array) {
    for (let k = 0; k < rows.length; k++) dst.set(src.subarray(rows[k] * cols, (rows[k] + 1) * cols), k * cols);
    return;
  }
  for (let k = 0; k < rows.length; k++) for (let j = 0; j < cols; j++) dst[k * cols + j] = src[rows[k] * cols + j];
}
