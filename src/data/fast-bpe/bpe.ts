/**
 * Byte-pair merging of one word, in place over token ids: repeatedly merge the adjacent pair with
 * the lowest rank, the leftmost one among equal ranks (the order Hugging Face's BPE applies).
 *
 *   mergeWord(syms, n, table) → new length (syms[0..len) are the word's token ids)
 *
 * Short words use a linear scan (fastest for the handful of symbols most words have); long words
 * use a binary heap of (rank, position) with lazy invalidation, O(n log n).
 */
import type { MergeTable } from './merge-table';

/** Words up to this many symbols use the linear scan. */
export const LINEAR_MAX = 48;

const NONE = 0x7fffffff;
const POS_SCALE = 4294967296; // 2^32: heap key = rank * 2^32 + position

let ranks = new Int32Array(LINEAR_MAX);
let slots = new Int32Array(LINEAR_MAX);

/** Linear-scan merging; any length (quadratic), used for n ≤ LINEAR_MAX. */
export function mergeLinear(syms: Int32Array, n: number, table: MergeTable): number {
  if (n < 2) return n;
  if (ranks.length < n) {
    ranks = new Int32Array(n);
    slots = new Int32Array(n);
  }
  for (let k = 0; k < n - 1; k++) {
    const slot = table.find(syms[k], syms[k + 1]);
    slots[k] = slot;
    ranks[k] = slot < 0 ? NONE : table.rank(slot);
  }
  while (n > 1) {
    let best = NONE;
    let at = -1;
    for (let k = 0; k < n - 1; k++) {
      if (ranks[k] < best) {
        best = ranks[k];
        at = k;
      }
    }
    if (at < 0) break;
    syms[at] = table.merged(slots[at]);
    for (let k = at + 1; k < n - 1; k++) syms[k] = syms[k + 1];
    for (let k = at + 1; k < n - 2; k++) {
      ranks[k] = ranks[k + 1];
      slots[k] = slots[k + 1];
    }
    n--;
    if (at > 0) {
      const slot = table.find(syms[at - 1], syms[at]);
      slots[at - 1] = slot;
      ranks[at - 1] = slot < 0 ? NONE : table.rank(slot);
    }
    if (at < n - 1) {
      const slot = table.find(syms[at], syms[at + 1]);
      slots[at] = slot;
      ranks[at] = slot < 0 ? NONE : table.rank(slot);
    }
  }
  return n;
}

/** Heap-based merging; any length, O(n log n). */
export function mergeHeap(syms: Int32Array, n: number, table: MergeTable): number {
  if (n < 2) return n;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  // Each merge pushes at most two pairs: n - 1 initial pairs + 2 per merge (≤ n - 1 merges).
  const heap = new Float64Array(3 * n);
  let size = 0;

  const push = (key: number): void => {
    let i = size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent] <= key) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = key;
  };
  const pop = (): number => {
    const top = heap[0];
    const last = heap[--size];
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && heap[child + 1] < heap[child]) child++;
      if (heap[child] >= last) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = last;
    return top;
  };
  const pushPair = (pos: number): void => {
    const slot = table.find(syms[pos], syms[next[pos]]);
    if (slot >= 0) push(table.rank(slot) * POS_SCALE + pos);
  };

  for (let i = 0; i < n; i++) {
    next[i] = i + 1 < n ? i + 1 : -1;
    prev[i] = i - 1;
  }
  for (let i = 0; i < n - 1; i++) pushPair(i);

  while (size > 0) {
    const key = pop();
    const rank = Math.floor(key / POS_SCALE);
    const pos = key - rank * POS_SCALE;
    if (!alive[pos]) continue;
    const right = next[pos];
    if (right < 0) continue;
    const slot = table.find(syms[pos], syms[right]);
    if (slot < 0 || table.rank(slot) !== rank) continue;
    syms[pos] = table.merged(slot);
    alive[right] = 0;
    const after = next[right];
    next[pos] = after;
    if (after >= 0) prev[after] = pos;
    if (prev[pos] >= 0) pushPair(prev[pos]);
    if (after >= 0) pushPair(pos);
  }

  let len = 0;
  for (let i = 0; i >= 0; i = next[i]) syms[len++] = syms[i];
  return len;
}

/** Merges `syms[0..n)` in place and returns the merged length. */
export function mergeWord(syms: Int32Array, n: number, table: MergeTable): number {
  return n <= LINEAR_MAX ? mergeLinear(syms, n, table) : mergeHeap(syms, n, table);
}
