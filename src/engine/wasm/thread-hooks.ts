/**
 * Temporary, process-wide patches that let tfjs-backend-wasm 4.22 start its threaded-SIMD build
 * under Node. Installed just before `tf.setBackend('wasm')` and removed as soon as it settles:
 *
 * 1. `Blob` is wrapped so the text of the Blobs the package builds (worker script, main script)
 *    can be read back synchronously.
 * 2. `URL.createObjectURL`, when handed the worker-script Blob, materialises both scripts to files
 *    (see pthread-scripts.ts) and returns the worker file's path, which `worker_threads` can load.
 * 3. `os.cpus()` reports `2 × threads` logical cores: the C++ side sizes its thread pool as
 *    min(requested, 8, logical cores / 2), assuming two hyper-threads per core; without this a
 *    2-core machine gets one thread.
 *
 * (The fourth obstacle, the `WASM_HAS_MULTITHREAD_SUPPORT` flag that tfjs forces to false in
 * Node, is a tfjs flag, set by the caller.)
 */
// The real module object (not an interop copy): the package reads `cpus` from it.
import os = require('os');
import { PtflowError } from '../../errors';
import { MAIN_SCRIPT_PREFIX, materialisePthreadScripts } from './pthread-scripts';

export interface ThreadHooks {
  /** Undo every patch (idempotent). */
  restore(): void;
  /** Path of the materialised worker script, once emscripten asked for it. */
  workerScriptPath(): string | undefined;
}

type BlobCtor = typeof Blob;

export function installThreadHooks(threads: number, scriptDir: string): ThreadHooks {
  const g = globalThis as { Blob: BlobCtor };
  const OrigBlob = g.Blob;
  const origCreateObjectURL = URL.createObjectURL;
  const osMut = os as { cpus: typeof os.cpus };
  const origCpus = osMut.cpus;
  const texts = new WeakMap<Blob, string>();
  let mainText: string | undefined;
  let workerPath: string | undefined;

  class TextBlob extends OrigBlob {
    constructor(...args: ConstructorParameters<BlobCtor>) {
      super(...args);
      const parts = args[0];
      if (parts != null && parts.every((p) => typeof p === 'string')) {
        const text = (parts as unknown as string[]).join('');
        texts.set(this, text);
        if (text.startsWith(MAIN_SCRIPT_PREFIX)) mainText = text;
      }
    }
  }
  g.Blob = TextBlob;

  URL.createObjectURL = function createObjectURL(obj: Blob): string {
    const text = texts.get(obj);
    if (text != null && obj.type === 'application/javascript') {
      if (mainText == null) {
        throw new PtflowError('tfjs-backend-wasm asked for its pthread worker before building its main script');
      }
      workerPath = materialisePthreadScripts(scriptDir, text, mainText);
      return workerPath;
    }
    return origCreateObjectURL.call(URL, obj);
  };

  const reported = 2 * threads;
  osMut.cpus = function cpus(): os.CpuInfo[] {
    const real = origCpus.call(os);
    if (real.length === 0) return real;
    return Array.from({ length: Math.max(reported, real.length) }, (_, i) => real[i % real.length]);
  };

  let restored = false;
  return {
    restore(): void {
      if (restored) return;
      restored = true;
      g.Blob = OrigBlob;
      URL.createObjectURL = origCreateObjectURL;
      osMut.cpus = origCpus;
    },
    workerScriptPath: () => workerPath,
  };
}
