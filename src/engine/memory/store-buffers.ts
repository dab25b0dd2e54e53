/**
 * Follows which ArrayBuffer each entry of a tfjs-core 4.x DataStorage holds (its `set` / `delete`),
 * counting the entries that hold each buffer: several tensors share one (Identity, contiguous
 * slices are views). The cpu backend's tensor-memory peak and its output buffer pool both need
 * to know when the first entry takes a buffer and when the last one lets it go.
 */
export interface BufferStore {
  set(dataId: object, value: { values?: unknown }): void;
  delete(dataId: object): boolean;
}

export interface BufferFollower {
  /** Whether to follow this buffer, asked when an entry first holds it (default: all). */
  follows?(buf: ArrayBufferLike): boolean;
  /** The first entry now holds `buf`. */
  taken?(buf: ArrayBufferLike): void;
  /** No entry holds `buf` any more. */
  released(buf: ArrayBufferLike): void;
}

export function bufferIn(value: { values?: unknown } | undefined): ArrayBufferLike | undefined {
  const v = value?.values;
  return ArrayBuffer.isView(v) ? v.buffer : undefined;
}

/**
 * Wraps `store.set` / `store.delete` to tell `follower` about its buffers. `flag` marks the store
 * as followed, so a second call for the same store does nothing.
 */
export function followStoreBuffers(store: BufferStore, flag: string, follower: BufferFollower): void {
  const marks = store as unknown as Record<string, unknown>;
  if (marks[flag] === true) return;
  const bufferOf = new WeakMap<object, ArrayBufferLike>();
  const refs = new Map<ArrayBufferLike, number>();
  const release = (dataId: object): void => {
    const buf = bufferOf.get(dataId);
    if (buf === undefined) return;
    bufferOf.delete(dataId);
    const n = (refs.get(buf) ?? 1) - 1;
    if (n > 0) {
      refs.set(buf, n);
      return;
    }
    refs.delete(buf);
    follower.released(buf);
  };
  const set = store.set.bind(store);
  const del = store.delete.bind(store);
  store.set = (dataId, value) => {
    release(dataId);
    set(dataId, value);
    const buf = bufferIn(value);
    if (buf === undefined) return;
    const n = refs.get(buf) ?? 0;
    if (n === 0 && follower.follows?.(buf) === false) return;
    bufferOf.set(dataId, buf);
    refs.set(buf, n + 1);
    if (n === 0) follower.taken?.(buf);
  };
  store.delete = (dataId) => {
    release(dataId);
    return del(dataId);
  };
  marks[flag] = true;
}
