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
