/**
 * How many bytes of tensors the wasm heap may hold: emscripten's 4 GiB − 64 KiB, or less when
 * `PTFLOW_WASM_HEAP_LIMIT` says so (bytes, or a number with KiB / MiB / GiB). The limit is
 * enforced by the guarded `malloc` (out-of-memory.ts) and used by the memory budget (budget.ts),
 * so `backend: auto` takes the cpu backend for a run the capped heap cannot hold. It exists so
 * that the path for runs larger than the heap can be exercised with tiny models.
 */
import { usageError } from '../../errors';

/** The wasm backend's heap can address at most this many bytes (emscripten's 4 GiB − 64 KiB). */
export const WASM_HEAP_MAX_BYTES = 4294901760;
export const WASM_HEAP_LIMIT_ENV = 'PTFLOW_WASM_HEAP_LIMIT';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kib: 1024, m: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gib: 1024 ** 3 };

/** Parses a byte count such as `1048576`, `64MiB`, `1.5 GiB`; throws a usage error naming `what`. */
export function parseBytes(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (m === null || unit === undefined) {
    throw usageError(`${what}: expected a byte count such as 268435456 or 256MiB (units KiB, MiB, GiB), got "${text}"`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1) throw usageError(`${what}: must be at least 1 byte, got "${text}"`);
  return bytes;
}

/** The wasm heap's limit for tensors in this process (`PTFLOW_WASM_HEAP_LIMIT`, else the 4 GiB maximum). */
export function wasmHeapLimitBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[WASM_HEAP_LIMIT_ENV];
  if (raw === undefined || raw.trim() === '') return WASM_HEAP_MAX_BYTES;
  return Math.min(WASM_HEAP_MAX_BYTES, parseBytes(raw, WASM_HEAP_LIMIT_ENV));
}
