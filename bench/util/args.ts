/**
 * Command-line flags shared by the benchmarks: `--backend auto|tensorflow|webgpu|wasm|cpu`,
 * `--allow-software` (webgpu on a software adapter), `--threads N`, `--steps N`, `--reps N`, `--native on|off`, `--profile`, `--json`.
 */
import { parseArgs } from 'util';
import type { BackendRequest } from '../../src/engine/backend';
import { usageError } from '../../src/errors';

export interface BenchArgs {
  backend: BackendRequest;
  threads?: number;
  steps: number;
  reps: number;
  /** undefined: leave PTFLOW_NATIVE as it is. */
  native?: boolean;
  profile: boolean;
  json: boolean;
  /** `--allow-software`: webgpu may run on a software adapter. */
  allowSoftware: boolean;
}

const BACKENDS = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const;

function positiveInt(flag: string, v: string | undefined, dflt: number | undefined): number | undefined {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw usageError(`--${flag}: expected a positive integer, got "${v}"`);
  return n;
}

export function parseBenchArgs(argv: string[], defaults: { steps: number; reps: number }): BenchArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'wasm' },
      threads: { type: 'string' },
      steps: { type: 'string' },
      reps: { type: 'string' },
      native: { type: 'string' },
      profile: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'allow-software': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const backend = values.backend as BackendRequest;
  if (!(BACKENDS as readonly string[]).includes(backend)) {
    throw usageError(`--backend: expected one of ${BACKENDS.join(', ')}, got "${backend}"`);
  }
  let native: boolean | undefined;
  if (values.native !== undefined) {
    if (values.native !== 'on' && values.native !== 'off') {
      throw usageError(`--native: expected on or off, got "${values.native}"`);
    }
    native = values.native === 'on';
  }
  return {
    backend,
    threads: positiveInt('threads', values.threads, undefined),
    steps: positiveInt('steps', values.steps, defaults.steps)!,
    reps: positiveInt('reps', values.reps, defaults.reps)!,
    native,
    profile: values.profile ?? false,
    json: values.json ?? false,
    allowSoftware: values['allow-software'] ?? false,
  };
}

/** Apply `--native` before the backend starts (the backend reads PTFLOW_NATIVE). */
export function applyNativeFlag(native: boolean | undefined): void {
  if (native === false) process.env['PTFLOW_NATIVE'] = '0';
  if (native === true && process.env['PTFLOW_NATIVE'] === '0') delete process.env['PTFLOW_NATIVE'];
}
