/**
 * Fault injection, for testing crash safety the way it fails in production. Off unless the
 * environment variable PTFLOW_FAULTS is set to a comma-separated list of faults:
 *
 *   kill-in-checkpoint@N    SIGKILL the process while checkpoint-N is half written (after the
 *                           weights, before the directory is renamed into place)
 *   kill-after-step@N       SIGKILL the process right after optimizer step N
 *   throw:<Actor>@N         <Actor> throws while handling its N-th input message (1-based), once
 *                           (its supervisor restarts it; the run must complete unchanged)
 *   throw-repeat:<Actor>@N  the same, every time (restarts run out: the run stops with the error)
 *   spin:<Actor>@N          <Actor> computes (a busy loop) for SPIN_MS before its N-th input message,
 *                           once: a slow stage whose time must show up as busy, and downstream as waiting
 *   block:<Actor>@N         <Actor>'s thread blocks for ever at its N-th input message (a read or a
 *                           kernel that never returns)
 *   block-load@1            TrainerActor's thread blocks for ever before it loads the model
 *   block-step@N            TrainerActor's thread blocks for ever inside optimizer step N
 *   hang-startup@1          the main thread waits for ever after checking the inputs, before any
 *                           thread starts (it still answers signals)
 *   spin-cache-build@N      N = 1…4: a map-mode run's own token cache (src/cache/run-cache.ts)
 *                           computes for SPIN_MS per armed N before it is built: a slow first pass
 *   block-cache-build@1     the thread building a run's own token cache blocks for ever
 *   kill-in-cache-build@1   SIGKILL the process while a run's own token cache is half built (parts
 *                           and manifest written, no index.json yet)
 *   hold-after-step@N       TrainerActor's thread waits after optimizer step N (and its log and
 *                           checkpoint) until the file named by PTFLOW_FAULT_RELEASE exists: a test
 *                           changes the output directory at that moment (e.g. makes it unwritable)
 * Each blocking fault first writes `[fault] <fault>` to stderr, so a test knows the run got there.
 *
 * Documented in README ("Crash safety"). Nothing here runs when PTFLOW_FAULTS is unset.
 */
import { existsSync, writeSync } from 'node:fs';

interface Fault {
  kind: string;
  actor?: string;
  at: number;
}

let parsed: Fault[] | null = null;
const fired = new Set<string>();

function faults(): Fault[] {
  if (parsed) return parsed;
  parsed = [];
  for (const item of (process.env.PTFLOW_FAULTS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z-]+)(?::([A-Za-z0-9_]+))?@(\d+)$/.exec(item);
    if (!m) throw new Error(`PTFLOW_FAULTS: cannot parse '${item}' (expected kind@N or kind:Actor@N)`);
    parsed.push({ kind: m[1], actor: m[2], at: Number(m[3]) });
  }
  return parsed;
}

/** True (once) when fault `kind` is armed for `at` (and `actor`, when given). */
export function faultArmed(kind: string, at: number, actor?: string): boolean {
  if (!process.env.PTFLOW_FAULTS) return false;
  const f = faults().find((x) => x.kind === kind && x.at === at && (x.actor === undefined || x.actor === actor));
  if (!f) return false;
  const key = `${kind}:${actor ?? ''}@${at}`;
  if (fired.has(key)) return false;
  fired.add(key);
  return true;
}

/** Length of a `spin` fault. */
export const SPIN_MS = 1500;

/**
 * The faults armed for `actor`'s `n`-th input message: spins (computes) for SPIN_MS when a `spin`
 * fault is armed, throws the injected error when it should fail (this attempt).
 */
export function throwIfArmed(actor: string, n: number): void {
  if (!process.env.PTFLOW_FAULTS) return;
  if (faultArmed('spin', n, actor)) for (const end = performance.now() + SPIN_MS; performance.now() < end; );
  const repeat = faults().some((f) => f.kind === 'throw-repeat' && f.actor === actor && f.at === n);
  if (repeat || faultArmed('throw', n, actor)) throw new Error(`injected fault at input message ${n}`);
  if (faultArmed('block', n, actor)) blockForever(`block:${actor}@${n}`);
}

/** Blocks this thread for ever (no CPU), as a call that never returns would. */
function blockForever(what: string): never {
  writeSync(2, `[fault] ${what}\n`);
  for (;;) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

/** Computes (a busy loop) for SPIN_MS when fault `kind@at` is armed. */
export function spinIfArmed(kind: string, at: number): void {
  if (faultArmed(kind, at)) for (const end = performance.now() + SPIN_MS; performance.now() < end; );
}

/**
 * When fault `kind@at` is armed: waits (this thread, no CPU) until the file named by
 * PTFLOW_FAULT_RELEASE exists. Only the timing is injected; what fails afterwards fails for real.
 */
export function holdIfArmed(kind: string, at: number): void {
  if (!faultArmed(kind, at)) return;
  const release = process.env.PTFLOW_FAULT_RELEASE;
  if (!release) throw new Error(`PTFLOW_FAULTS: ${kind}@${at} needs PTFLOW_FAULT_RELEASE (the file whose creation releases it)`);
  writeSync(2, `[fault] ${kind}@${at}\n`);
  const cell = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(release)) Atomics.wait(cell, 0, 0, 20);
}

/** Blocks this thread for ever when fault `kind@at` is armed. */
export function blockIfArmed(kind: string, at: number): void {
  if (faultArmed(kind, at)) blockForever(`${kind}@${at}`);
}

/** Never resolves when fault `kind@at` is armed (the event loop keeps running: signals are handled). */
export async function hangIfArmed(kind: string, at: number): Promise<void> {
  if (!faultArmed(kind, at)) return;
  writeSync(2, `[fault] ${kind}@${at}\n`);
  await new Promise<never>(() => setInterval(() => undefined, 60_000));
}

/** SIGKILL this whole process (from any thread) when the fault is armed. */
export function killIfArmed(kind: string, at: number): void {
  if (faultArmed(kind, at)) process.kill(process.pid, 'SIGKILL');
}
