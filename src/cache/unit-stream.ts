/**
 * The caller's end of a unit task (prepare-task.ts): the unit's messages in order, acknowledged one by
 * one, and `stop` when no more documents of the unit are needed.
 *
 *   const s = tokenizer.startUnit(task);  for (;;) { const m = await s.next(); …; s.ack(); }   s.stop()
 *
 * A task that fails outside its reading (a tokenizer that does not load) rejects `next` with a
 * PtflowError naming the tokenizer directory; `closed` settles when the task has ended, either way.
 */
import type { MessagePort } from 'node:worker_threads';
import { PtflowError } from '../errors';
import type { UnitControl, UnitMessage } from './prepare-task';

export class UnitStream {
  private readonly queue: UnitMessage[] = [];
  private waiter: { resolve: (m: UnitMessage) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;
  private stopped = false;
  /** Settles (never rejects) when the task is over. */
  readonly closed: Promise<void>;

  constructor(
    private readonly port: MessagePort,
    done: Promise<unknown>,
    dir: string,
  ) {
    port.on('message', (m: UnitMessage) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w.resolve(m);
      } else this.queue.push(m);
    });
    this.closed = done.then(
      () => undefined, // its last messages may still be in flight on the port: they are delivered
      (e: unknown) => this.fail(new PtflowError(`tokenizing with ${dir}: ${(e as Error).message}`)),
    );
  }

  next(): Promise<UnitMessage> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  ack(): void {
    if (!this.stopped) this.port.postMessage({ type: 'ack' } satisfies UnitControl);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.port.postMessage({ type: 'stop' } satisfies UnitControl);
    this.port.close();
  }

  private fail(e: Error): void {
    this.failed = e;
    this.port.close();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(e);
    }
  }
}
