import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';
import { PtflowError } from '../../errors';
import {
  MAIN_SCRIPT_PRELUDE,
  WORKER_IMPORT_SNIPPET,
  buildMainScript,
  materialise,
  materialisePthreadScripts,
  rewriteWorkerScript,
} from './pthread-scripts';

// The worker script shipped in the installed package.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as {
  wasmWorkerContents: string;
};

describe('pthread scripts', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-pthread-test-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('the installed worker script has the import this rewrite expects, and loses it', () => {
    const out = rewriteWorkerScript(wasmWorkerContents, '/x/main.js');
    expect(out).not.toContain(WORKER_IMPORT_SNIPPET);
    expect(out.split('importScripts("/x/main.js");').length).toBe(2);
    expect(out.length).toBe(wasmWorkerContents.length - WORKER_IMPORT_SNIPPET.length + 'importScripts("/x/main.js");'.length);
  });

  test('a worker script without the import is refused', () => {
    expect(() => rewriteWorkerScript('self.onmessage=()=>{}', '/x/main.js')).toThrow(PtflowError);
  });

  test('main script: prefix checked; prelude defines the bundle names with tslib semantics', () => {
    expect(() => buildMainScript('var Other = 1')).toThrow(/WasmBackendModuleThreadedSimd/);
    const ctx = vm.createContext({ require });
    vm.runInContext(
      MAIN_SCRIPT_PRELUDE +
        'var spread = __spreadArray([0], __read(new Set([1, 2, 3])), false);' +
        'var firstTwo = __read([5, 6, 7], 2);' +
        'var it = __values([4, 5]); var seen = []; for (var r = it.next(); !r.done; r = it.next()) seen.push(r.value);' +
        'var mods = [require$$0.readFileSync === require("fs").readFileSync, typeof require$$4.cpus, typeof require$$3.performance.now, commonjsGlobal === globalThis];',
      ctx,
    );
    expect(vm.runInContext('JSON.stringify([spread, firstTwo, seen, mods])', ctx)).toBe(
      JSON.stringify([[0, 1, 2, 3], [5, 6], [4, 5], [true, 'function', 'function', true]]),
    );
  });

  test('materialise is content-addressed and idempotent', () => {
    const a = materialise(dir, 'x', 'one');
    const b = materialise(dir, 'x', 'one');
    const c = materialise(dir, 'x', 'two');
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(fs.readFileSync(c, 'utf8')).toBe('two');
    expect(fs.readdirSync(dir).sort()).toEqual([path.basename(a), path.basename(c)].sort());
  });

  test('the worker file imports the main file by its path', () => {
    const worker = materialisePthreadScripts(dir, wasmWorkerContents, 'var WasmBackendModuleThreadedSimd = 1;');
    const files = fs.readdirSync(dir);
    const main = path.join(dir, files.find((f) => f.startsWith('tfjs-wasm-main-'))!);
    expect(fs.readFileSync(worker, 'utf8')).toContain(`importScripts(${JSON.stringify(main)});`);
    expect(fs.readFileSync(main, 'utf8').endsWith('var WasmBackendModuleThreadedSimd = 1;')).toBe(true);
  });
});
