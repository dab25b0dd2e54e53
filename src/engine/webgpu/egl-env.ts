/**
 * Mesa's EGL without a display needs `EGL_PLATFORM=surfaceless` to come up (that is how Dawn's
 * OpenGL ES backend reaches llvmpipe, or a GPU's render node, on a headless machine). Mesa reads
 * the variable from the process environment, which only the main thread can change: a worker
 * thread's `process.env` is its own copy. The CLI calls this before it starts any worker.
 */
import { isMainThread } from 'worker_threads';

/** Set EGL_PLATFORM=surfaceless where unset (main thread only); returns whether it is set now. */
export function prepareEglPlatform(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env['EGL_PLATFORM'] !== undefined) return true;
  if (!isMainThread) return false;
  env['EGL_PLATFORM'] = 'surfaceless';
  return true;
}
