/**
 * A world of `size` ranks inside one thread, for tests of code written against `Collective`: each
 * rank's collective call waits until every rank has made its call of the same number, then all get
 * the result. Sums are taken in rank order in the buffer's own precision (what MPI's reduction does
 * for two ranks). Calls must come in the same order on every rank, as with MPI; a call whose length
 * differs from rank 0's is an error.
 */
import type { Collective, CollectiveBuffer, ReduceOp } from '../collective';

interface Pending {
  kind: string;
  bufs: (CollectiveBuffer | undefined)[];
  arrived: number;
  done: Array<() => void>;
}

export function inMemoryWorld(size: number): Collective[] {
  const calls: Pending[] = [];
  const seq = new Array<number>(size).fill(0);
  const join = (rank: number, kind: string, buf: CollectiveBuffer | undefined, finish: (bufs: CollectiveBuffer[]) => void): Promise<void> => {
    const i = seq[rank]++;
    const call = (calls[i] ??= { kind, bufs: new Array(size), arrived: 0, done: [] });
    if (call.kind !== kind) throw new Error(`rank ${rank}: collective call ${i} is ${kind}, another rank's is ${call.kind}`);
    if (buf && call.bufs.some((b) => b !== undefined && b.length !== buf.length)) throw new Error(`rank ${rank}: ${kind} call ${i} has another length`);
    call.bufs[rank] = buf;
    call.arrived++;
    return new Promise<void>((resolve) => {
      call.done.push(resolve);
      if (call.arrived === size) {
        finish(call.bufs as CollectiveBuffer[]);
        for (const d of call.done) d();
      }
    });
  };
  return Array.from({ length: size }, (_, rank): Collective => ({
    rank,
    size,
    allreduce: (buf: Float32Array | Float64Array, op: ReduceOp) =>
      join(rank, `allreduce(${op})`, buf, (bufs) => {
        const acc = buf instanceof Float32Array ? new Float32Array(buf.length) : new Float64Array(buf.length);
        for (const b of bufs) for (let k = 0; k < acc.length; k++) acc[k] += b[k];
        if (op === 'mean') for (let k = 0; k < acc.length; k++) acc[k] /= size;
        for (const b of bufs) (b as Float32Array | Float64Array).set(acc);
      }),
    broadcast: (buf: CollectiveBuffer, root: number) =>
      join(rank, `broadcast(${root})`, buf, (bufs) => {
        for (const b of bufs) if (b !== bufs[root]) (b as Uint8Array).set(bufs[root] as Uint8Array);
      }),
    barrier: () => join(rank, 'barrier', undefined, () => undefined),
    abort: (code: number): never => {
      throw new Error(`rank ${rank} aborted the world with code ${code}`);
    },
  }));
}
