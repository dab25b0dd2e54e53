/**
 * SIGINT / SIGTERM for a whole `ptflow train` run, from the first line of startup to the last write.
 *
 *  - Startup (checking inputs, loading the model, reading and tokenizing the data — before the first
 *    optimizer step): there is nothing to save, so the run stops at once and exits 130 (SIGINT) or 143
 *    (SIGTERM), after its cleanups (the run lock).
 *  - Training: the phase's handler decides (finish the step, save a checkpoint); a second signal
 *    stops at once, even while a step that never returns holds the trainer's thread.
 */
export type StopSignal = 'SIGINT' | 'SIGTERM';

export const exitCodeOf = (sig: StopSignal): number => (sig === 'SIGINT' ? 130 : 143);

export class RunSignals {
  private handler: ((sig: StopSignal) => void) | null = null;
  private readonly cleanups: (() => void)[] = [];
  private readonly listener = (sig: NodeJS.Signals): void => this.on(sig as StopSignal);
  private stopping = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly exit: (code: number) => never = (code) => process.exit(code),
  ) {
    process.on('SIGINT', this.listener);
    process.on('SIGTERM', this.listener);
  }

  /** Run `fn` before stopping at once (release the run lock). */
  onCleanup(fn: () => void): void {
    this.cleanups.push(fn);
  }

  /** The handler of the current phase; null = startup (stop at once). */
  setHandler(h: ((sig: StopSignal) => void) | null): void {
    this.handler = h;
  }

  /** Stop now: `beforeExit` (e.g. terminate the worker threads) first, then the cleanups, then exit. */
  async stopNow(sig: StopSignal, beforeExit?: () => Promise<void>): Promise<never> {
    this.stopping = true;
    try {
      await beforeExit?.();
    } finally {
      for (const fn of this.cleanups) {
        try {
          fn();
        } catch {
          // exiting anyway: a cleanup that fails must not keep the process alive
        }
      }
    }
    return this.exit(exitCodeOf(sig));
  }

  dispose(): void {
    process.off('SIGINT', this.listener);
    process.off('SIGTERM', this.listener);
  }

  private on(sig: StopSignal): void {
    if (this.stopping) return;
    if (this.handler) {
      this.handler(sig);
      return;
    }
    this.out.write(`\n${sig} during startup: stopping now (nothing trained yet, nothing to save).\n`);
    void this.stopNow(sig);
  }
}
