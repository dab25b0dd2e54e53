/**
 * Sums every rank's gradients (data-parallel training), Horovod/DDP style: the gradients are copied
 * into fused flat float32 buckets of about `bucketBytes`, in reverse parameter order (the order a
 * backward pass finishes them: last layer first), and each bucket's allreduce is started as soon as
 * the bucket is full, so the transfer of one bucket runs while the next is being filled; then the
 * sums are copied back into tensors.
 *
 *   const { grads, stats } = await allreduceGradients(acc, layout, collective);
 *
 * Why not during the backward pass itself: tfjs computes all gradients in one synchronous
 * `variableGrads` call and hands them over only at its end, so nothing can be sent before the whole
 * backward is done. What overlaps is the transfer of bucket k with the read-out of bucket k + 1 (and
 * the buckets with each other); `stats` says how much of the reduce time was hidden that way.
 *
 * Every rank must pass the same layout (names, shapes, order): a gradient a rank does not have (it
 * had no labelled token this step) is sent as zeros.
 */
import * as tf from '@tensorflow/tfjs-core';
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

/**
 * Replaces `grads` (taken over: disposed) by their sum over all ranks. With one rank it returns them
 * untouched.
 */
export async function allreduceGradients(
  grads: Map<string, tf.Tensor>,
  layout: GradLayout,
  collective: Collective,
  bucketBytes = DEFAULT_BUCKET_BYTES,
): Promise<{ grads: Map<string, tf.Tensor>; stats: ReduceStats }> {
  if (collective.size === 1) return { grads, stats: { buckets: 0, bytes: 0, reduceMs: 0, waitMs: 0 } };
  const buckets = planBuckets(layout, bucketBytes);
  const pending: Promise<void>[] = [];
  let t0 = 0;
  let bytes = 0;
  try {
    for (const b of buckets) {
      let off = 0;
      for (const e of b.entries) {
        const g = grads.get(e.name);
        if (g) b.buf.set(g.dataSync() as Float32Array, off); // else: zeros (fresh buffer)
        off += e.size;
      }
      if (pending.length === 0) t0 = performance.now();
      pending.push(collective.allreduce(b.buf, 'sum'));
      bytes += b.buf.byteLength;
    }
  } finally {
    for (const g of grads.values()) g.dispose();
  }
  const handedOver = performance.now();
  await Promise.all(pending);
  const end = performance.now();
  const out = new Map<string, tf.Tensor>();
  for (const b of buckets) {
    let off = 0;
    for (const e of b.entries) {
      out.set(e.name, tf.tensor(b.buf.subarray(off, off + e.size), [...e.shape], 'float32'));
      off += e.size;
    }
  }
  // Back in the model's order (the optimizer does not care, but a reader of the map might).
  const ordered = new Map<string, tf.Tensor>();
  for (const e of layout) ordered.set(e.name, out.get(e.name) as tf.Tensor);
  return { grads: ordered, stats: { buckets: buckets.length, bytes, reduceMs: end - t0, waitMs: end - handedOver } };
}
