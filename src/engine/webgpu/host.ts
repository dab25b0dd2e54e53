/**
 * The process's own global object and `process`. Dawn reads `setImmediate` from the former and
 * Mesa's EGL reads `EGL_PLATFORM` from the real environment; under a test runner that gives each
 * file its own context (and its own copy of `process.env`), `globalThis` and `process` here are
 * other objects.
 */
import * as vm from 'vm';

export const hostGlobal = vm.runInThisContext('globalThis') as typeof globalThis;
export const hostProcess = vm.runInThisContext('process') as NodeJS.Process;
