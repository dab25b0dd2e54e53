/**
 * The two scripts a pthread worker of tfjs-backend-wasm's threaded-SIMD build needs, turned into
 * files `worker_threads` can load.
 *
 * In a browser the package hands emscripten the worker script as a Blob URL and the main script
 * (the module factory's source text) as a Blob; Node's `worker_threads` can load neither. So:
 * - the worker script is written to a file, with its "load" handler changed to import the main
 *   script from a file path instead of from the posted Blob;
 * - the main script is the factory's source prefixed with the bundle-local names it refers to
 *   (`require$$0`…, `commonjsGlobal`, the tslib helpers `__values`/`__read`/`__spreadArray`),
 *   which exist in the package's bundle scope but not in a worker's global scope.
 * Files are content-addressed under the OS temp directory, written atomically (temp + rename),
 * so concurrent processes share them safely.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PtflowError } from '../../errors';

/** How the 4.22 worker script imports the main script it is sent (minified emscripten output). */
export const WORKER_IMPORT_SNIPPET =
  'if(typeof e.data.urlOrBlob=="string"){importScripts(e.data.urlOrBlob)}else{var objectUrl=URL.createObjectURL(e.data.urlOrBlob);importScripts(objectUrl);URL.revokeObjectURL(objectUrl)}';

/** The start of the main-script Blob that tfjs-backend-wasm builds for its threaded factory. */
export const MAIN_SCRIPT_PREFIX = 'var WasmBackendModuleThreadedSimd = ';

/**
 * Definitions of the names the bundled factory uses but does not define (the bundle's
 * `require$$N` module aliases, `commonjsGlobal`, and the tslib helpers, in their tslib semantics).
 */
export const MAIN_SCRIPT_PRELUDE = [
  'var require$$0 = require("fs"), require$$1 = require("path"), require$$3 = require("perf_hooks"), require$$4 = require("os");',
  'var commonjsGlobal = globalThis;',
  'function __values(o) { var s = typeof Symbol === "function" && Symbol.iterator, m = s && o[s], i = 0;',
  '  if (m) return m.call(o);',
  '  if (o && typeof o.length === "number") return { next: function () { if (o && i >= o.length) o = void 0; return { value: o && o[i++], done: !o }; } };',
  '  throw new TypeError(s ? "Object is not iterable." : "Symbol.iterator is not defined."); }',
  'function __read(o, n) { var m = typeof Symbol === "function" && o[Symbol.iterator]; if (!m) return o;',
  '  var i = m.call(o), r, ar = [], e;',
  '  try { while ((n === void 0 || n-- > 0) && !(r = i.next()).done) ar.push(r.value); }',
  '  catch (error) { e = { error: error }; }',
  '  finally { try { if (r && !r.done && (m = i["return"])) m.call(i); } finally { if (e) throw e.error; } }',
  '  return ar; }',
  'function __spreadArray(to, from, pack) {',
  '  if (pack || arguments.length === 2) for (var i = 0, l = from.length, ar; i < l; i++) {',
  '    if (ar || !(i in from)) { if (!ar) ar = Array.prototype.slice.call(from, 0, i); ar[i] = from[i]; } }',
  '  return to.concat(ar || Array.prototype.slice.call(from)); }',
  '',
].join('\n');

/** The worker script with its main-script import pointed at `mainScriptPath`. */
export function rewriteWorkerScript(workerText: string, mainScriptPath: string): string {
  const at = workerText.indexOf(WORKER_IMPORT_SNIPPET);
  if (at < 0 || workerText.indexOf(WORKER_IMPORT_SNIPPET, at + 1) >= 0) {
    throw new PtflowError(
      'tfjs-backend-wasm pthread worker script: the main-script import was not found exactly once ' +
        '(expected @tensorflow/tfjs-backend-wasm 4.22)',
    );
  }
  return (
    workerText.slice(0, at) +
    `importScripts(${JSON.stringify(mainScriptPath)});` +
    workerText.slice(at + WORKER_IMPORT_SNIPPET.length)
  );
}

/** The main script a worker evaluates: prelude + the factory text the package put in its Blob. */
export function buildMainScript(blobText: string): string {
  if (!blobText.startsWith(MAIN_SCRIPT_PREFIX)) {
    throw new PtflowError(
      `tfjs-backend-wasm main script does not start with "${MAIN_SCRIPT_PREFIX.trim()}" ` +
        '(expected @tensorflow/tfjs-backend-wasm 4.22)',
    );
  }
  return MAIN_SCRIPT_PRELUDE + blobText;
}

/** Write `text` to `<dir>/<stem>-<hash>.js` unless already there; returns the path. */
export function materialise(dir: string, stem: string, text: string): string {
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const file = path.join(dir, `${stem}-${hash}.js`);
  if (fs.existsSync(file) && fs.statSync(file).size === Buffer.byteLength(text)) return file;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
  return file;
}

/** Default directory for the materialised scripts. */
export function defaultScriptDir(): string {
  return path.join(os.tmpdir(), 'ptflow-wasm-pthreads');
}

/**
 * Materialise both scripts; returns the worker script's path (what emscripten's `locateFile`
 * should hand to `new Worker`).
 */
export function materialisePthreadScripts(dir: string, workerText: string, mainBlobText: string): string {
  const mainPath = materialise(dir, 'tfjs-wasm-main', buildMainScript(mainBlobText));
  return materialise(dir, 'tfjs-wasm-worker', rewriteWorkerScript(workerText, mainPath));
}
