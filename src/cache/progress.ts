/**
 * Progress lines of `ptflow prepare` on stderr: documents and tokens done, docs/s and tokens/s,
 * at most one line every `intervalMs`, and a summary at the end.
 */
export interface ProgressOptions {
  out: NodeJS.WritableStream;
  /** Prefix, e.g. "prepare [rank 0/3]". */
  label: string;
  intervalMs?: number;
  now?: () => number;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

export class ProgressMeter {
  private docs = 0;
  private tokens = 0;
  private readonly started: number;
  private last: number;
  private readonly now: () => number;

  constructor(
    private readonly opts: ProgressOptions,
    private readonly phase: string,
    private readonly totalDocs: number | null,
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.started = this.now();
    this.last = this.started;
  }

  add(docs: number, tokens: number): void {
    this.docs += docs;
    this.tokens += tokens;
    const t = this.now();
    if (t - this.last >= (this.opts.intervalMs ?? 2000)) {
      this.last = t;
      this.opts.out.write(this.line(t) + '\n');
    }
  }

  /** The summary line; returns the rates for callers that report them. */
  done(): { docs: number; tokens: number; seconds: number; docsPerSec: number; tokensPerSec: number } {
    const t = this.now();
    const seconds = (t - this.started) / 1000;
    this.opts.out.write(this.line(t) + ' — done\n');
    const per = (n: number): number => (seconds > 0 ? n / seconds : 0);
    return { docs: this.docs, tokens: this.tokens, seconds, docsPerSec: per(this.docs), tokensPerSec: per(this.tokens) };
  }

  line(t: number = this.now()): string {
    const s = Math.max(1e-9, (t - this.started) / 1000);
    const of = this.totalDocs !== null && this.totalDocs > 0 ? `/${fmt(this.totalDocs)} (${((100 * this.docs) / this.totalDocs).toFixed(1)}%)` : '';
    const tok = this.tokens > 0 ? `, ${fmt(this.tokens)} tokens, ${fmt(this.tokens / s)} tokens/s` : '';
    return `${this.opts.label} ${this.phase}: ${fmt(this.docs)}${of} docs, ${fmt(this.docs / s)} docs/s${tok}, ${s.toFixed(1)} s`;
  }
}
