/**
 * One run per output directory: `output_dir/.ptflow.lock` holds the owner's pid (and, on Linux, its
 * start time, so a recycled pid is not mistaken for the owner). A second run refuses with a clear
 * message; a lock left by a dead process (crash, SIGKILL, a zombie not yet reaped) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';

export interface RunLock {
  /**
   * Removes the lock file. Never throws: a run that failed because output_dir stopped being writable
   * must report that failure, not the lock's cleanup; the cleanup's own failure is returned instead.
   */
  release(): string | null;
}

/** State letter and start time (clock ticks since boot) from /proc/<pid>/stat, where Linux has it. */
function procStat(pid: number): { state: string; start: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' '); // fields after "(comm)"
    return { state: rest[0], start: rest[19] };
  } catch {
    return null;
  }
}

function alive(pid: number, start: string | undefined): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const st = procStat(pid);
  if (!st) return true; // no /proc: trust kill(0)
  if (st.state === 'Z' || st.state === 'X') return false;
  return start === undefined || st.start === start;
}

export function acquireRunLock(outputDir: string): RunLock {
  const file = path.join(outputDir, '.ptflow.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, `${process.pid} ${procStat(process.pid)?.start ?? ''}\n`);
      closeSync(fd);
      let released = false;
      return {
        release() {
          if (released) return null;
          released = true;
          try {
            rmSync(file, { force: true });
            return null;
          } catch (e) {
            return `could not remove the run lock ${file}: ${(e as Error).message}`;
          }
        },
      };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new PtflowError(`cannot write to output_dir ${outputDir}: ${(e as Error).message}`);
      const [pidText, start] = readFileSync(file, 'utf8').trim().split(/\s+/);
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid, start || undefined)) {
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
