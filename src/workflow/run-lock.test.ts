import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireRunLock } from './run-lock';

describe('run lock', () => {
  it('refuses a second run while the first holds the directory, and frees it on release', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'ptflow-lock-'));
    const a = acquireRunLock(d);
    // Pretend another live process (this test's parent) holds it.
    writeFileSync(path.join(d, '.ptflow.lock'), `${process.ppid}\n`);
    expect(() => acquireRunLock(d)).toThrow(new RegExp(`in use by another ptflow run \\(pid ${process.ppid}\\)`));
    a.release();
    expect(existsSync(path.join(d, '.ptflow.lock'))).toBe(false);
    acquireRunLock(d).release();
  });

  it('takes over a lock left by a process that died', async () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'ptflow-lock-'));
    const child = spawn(process.execPath, ['-e', '0']);
    const pid = child.pid!;
    await new Promise((r) => child.on('exit', r));
    writeFileSync(path.join(d, '.ptflow.lock'), `${pid} 1\n`);
    const lock = acquireRunLock(d);
    expect(readFileSync(path.join(d, '.ptflow.lock'), 'utf8').split(' ')[0]).toBe(String(process.pid));
    lock.release();
  });

  it('release never throws: a lock it cannot remove is returned as a message (the run’s own error stays the one reported)', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'ptflow-lock-'));
    const lock = acquireRunLock(d);
    // Something rmSync(force) cannot remove where the lock file was (as root, a read-only directory cannot be simulated).
    rmSync(path.join(d, '.ptflow.lock'));
    mkdirSync(path.join(d, '.ptflow.lock', 'inside'), { recursive: true });
    let problem: string | null = null;
    expect(() => (problem = lock.release())).not.toThrow();
    expect(problem).toMatch(/could not remove the run lock \S+\.ptflow\.lock: /);
    expect(lock.release()).toBeNull(); // once only
  });
});
