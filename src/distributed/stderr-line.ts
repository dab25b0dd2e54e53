/**
 * One line to stderr, written before the call returns, for the moments just before this process
 * ends (the rank that fails, the job that is about to be aborted). Once `process.stderr` exists
 * and is a pipe, Node has made descriptor 2 non-blocking: a plain writeSync throws EAGAIN while
 * the pipe is full (a launcher slow to read, on a loaded machine), and the line would be lost.
 * Here a full pipe is waited on, up to `timeoutMs`; a closed stderr drops the line (it is
 * informational).
 */
import { writeSync } from 'node:fs';

const nap = new Int32Array(new SharedArrayBuffer(4));

export function stderrLine(line: string, timeoutMs = 5000): void {
  const bytes = Buffer.from(`${line}\n`);
  const deadline = Date.now() + timeoutMs;
  let done = 0;
  while (done < bytes.length) {
    try {
      const n = writeSync(2, bytes, done);
      if (n <= 0) return; // not a pipe's behaviour; never spin on it
      done += n;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || Date.now() > deadline) return;
      Atomics.wait(nap, 0, 0, 2); // a synchronous 2 ms nap: the event loop will not run again
    }
  }
}
