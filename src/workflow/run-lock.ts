/**
 * One run per output directory: `output_dir/.ptflow.lock` holds the owner's pid. A second run refuses
 * with a clear message; a lock left by a dead process (crash, SIGKILL) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';

export interface RunLock {
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function acquireRunLock(outputDir: string): RunLock {
  const file = path.join(outputDir, '.ptflow.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          rmSync(file, { force: true });
        },
      };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new PtflowError(`cannot write to output_dir ${outputDir}: ${(e as Error).message}`);
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new PtflowError(
          `output_dir ${outputDir} is in use by another ptflow run (pid ${pid}); wait for it or choose another output_dir`,
          2,
        );
      }
      rmSync(file, { force: true }); // stale lock of a dead process
    }
  }
  throw new PtflowError(`cannot lock output_dir ${outputDir}`);
}
