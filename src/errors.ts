/**
 * The one error type ptflow raises for problems a user can fix (bad config, bad files,
 * bad checkpoints). Its message names the file / line / key; `exitCode` is what the CLI exits with.
 */
export class PtflowError extends Error {
  constructor(
    message: string,
    /** 2 = usage error (config, arguments); 1 = runtime failure. */
    readonly exitCode: number = 1,
  ) {
    super(message);
    this.name = 'PtflowError';
  }
}

/** A usage error: exit code 2. */
export function usageError(message: string): PtflowError {
  return new PtflowError(message, 2);
}

/**
 * Where a `JSON.parse(text)` failure happened (1-based line and column) and why, so messages can say
 * `file:line:col` as they do for YAML. Node's message gives a character position, or none at the end.
 */
export function jsonErrorAt(text: string, err: unknown): { line: number; col: number; reason: string } {
  const msg = err instanceof Error ? err.message : String(err);
  const m = /at position (\d+)/.exec(msg);
  const pos = m ? Math.min(Number(m[1]), text.length) : text.length;
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < pos; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  const reason = msg.replace(/ in JSON at position \d+( \(line \d+ column \d+\))?$/, '').replace(/^Unexpected end of JSON input$/, 'unexpected end of the file');
  return { line, col: pos - lineStart + 1, reason };
}
