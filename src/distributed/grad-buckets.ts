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
 */
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
}

function planBuckets(layout: GradLayout, bucketBytes: number): Bucket[] {
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
    cur.push(layout[i]);
    elems += layout[i].size;
    if (elems * 4 >= bucketBytes) close();
  }
  close();
  return buckets;
}

/** The fused buffers of a layout and where each parameter lies in them; reused by every step's GradStream. */
export class GradBuckets {
  readonly buckets: Bucket[];
  readonly where = new Map<string, { bucket: number; offset: number; size: number }>();

  constructor(
    readonly layout: GradLayout,
    bucketBytes = DEFAULT_BUCKET_BYTES,
  ) {
    this.buckets = planBuckets(layout, bucketBytes);
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

  /** `plan`: the run's GradBuckets (no step of it may still be running), or a layout to plan afresh. */
  constructor(
    plan: GradBuckets | GradLayout,
    private readonly collective: Collective,
    bucketBytes = DEFAULT_BUCKET_BYTES,
  ) {
    const b = plan instanceof GradBuckets ? plan : new GradBuckets(plan, bucketBytes);
    this.layout = b.layout;
    this.buckets = b.buckets;
    this.where = b.where;
    this.missing = this.buckets.map((x) => x.entries.length);
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
    const buf = this.buckets[at.bucket].buf;
    if (grad instanceof tf.Tensor) readFloat32Into(grad, buf, at.offset);
    else buf.set(grad, at.offset);
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
          this.buckets[at.bucket].buf.fill(0, at.offset, at.offset + at.size);
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
      out.set(e.name, tensorFromFloat32(this.buckets[at.bucket].buf.subarray(at.offset, at.offset + e.size), e.shape));
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
      this.pending.push(this.collective.allreduce(b.buf, 'sum'));
      this.bytes += b.buf.byteLength;
      if (!this.finishing) this.earlyBytes += b.buf.byteLength;
    }
  }
}
