/**
 * The MPI transport under a real launcher: `mpiexec -n 2 node test/fixtures/mpi-ranks.js
 * <scenario>` against the compiled dist/ (the fixture computes the expected values from both
 * ranks' inputs and prints one JSON line per check). Skipped, with the reason, where MPICH's
 * mpiexec or the MPI addon is missing; PTFLOW_REQUIRE_MPI=1 (set by .ci/run) turns the skip
 * into a failure.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultMpiAddonPath } from './mpi-binding';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'mpi-ranks.js');

/** MPICH's launcher: mpiexec.mpich when Debian's alternatives may point mpiexec elsewhere. */
function findMpiexec(): string | undefined {
  for (const cmd of ['mpiexec.mpich', 'mpiexec.hydra', 'mpiexec']) {
    const r = spawnSync(cmd, ['--version'], { encoding: 'utf8' });
    if (r.status === 0 && /HYDRA|MPICH/i.test(r.stdout)) return cmd;
  }
  return undefined;
}

const mpiexec = findMpiexec();
const addon = defaultMpiAddonPath();
const skipReason =
  mpiexec === undefined
    ? 'MPICH mpiexec not found (apt-get install mpich libmpich-dev)'
    : addon === undefined || !fs.existsSync(addon)
      ? `MPI addon not built (${addon}; run node native/build.js after installing libmpich-dev)`
      : !fs.existsSync(path.join(ROOT, 'dist', 'src', 'distributed', 'world.js'))
        ? 'dist/ not built (npm run build)'
        : undefined;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Both ranks of a scenario; killed after `limitMs` (a hang fails the test rather than the suite). */
function ranks(scenario: string, limitMs = 60_000, env: NodeJS.ProcessEnv = {}, n = 2, mpiexecArgs?: (dir: string) => string[]): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-mpi-'));
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(mpiexec as string, mpiexecArgs?.(dir) ?? ['-n', String(n), process.execPath, FIXTURE, scenario, dir], {
      cwd: ROOT,
      env: { ...process.env, PTFLOW_FAULTS: '', ...env },
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

interface Check {
  rank: number;
  case?: string;
  ok?: boolean;
  why?: string;
}

function checks(stdout: string): Check[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Check);
}

/** The pid each rank announced ("ptflow: rank 1 of 2: pid 1234 on host ..."). */
function pidOf(stderr: string, rank: number): string | undefined {
  return new RegExp(`ptflow: rank ${rank} of 2: pid (\\d+) on `).exec(stderr)?.[1];
}

if (skipReason !== undefined && process.env['PTFLOW_REQUIRE_MPI'] === '1') {
  test('MPI transport is available (PTFLOW_REQUIRE_MPI=1)', () => {
    throw new Error(`MPI tests cannot run: ${skipReason}`);
  });
}

(skipReason === undefined ? describe : describe.skip)(`MPI transport under mpiexec -n 2${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  // Both ranks share this machine, so allreduce runs through the shared window by default;
  // PTFLOW_MPI_SHM=0 makes it MPI_Allreduce. Both must give the hand-computed sums.
  test.each([
    ['through shared memory', {}, true],
    ['through MPI_Allreduce (PTFLOW_MPI_SHM=0)', { PTFLOW_MPI_SHM: '0' }, false],
  ] as const)('allreduce (%s), broadcast and barrier give the hand-computed values on both ranks', async (_how, env, shared) => {
    const run = await ranks('collectives', 60_000, env);
    expect(run.stderr.match(/allreduce through shared memory/g) ?? []).toHaveLength(shared ? 2 : 0);
    const all = checks(run.stdout);
    const failed = all.filter((c) => c.ok !== true);
    expect(failed).toEqual([]);
    expect(run.code).toBe(0);
    const names = (rank: number): string[] => all.filter((c) => c.rank === rank).map((c) => c.case as string);
    // 16 chunked allreduces, 1 large, 4 broadcasts, mismatch, recovery, bad root on each rank;
    // the event-loop and barrier checks on rank 0.
    expect(names(1)).toHaveLength(24);
    expect(names(0)).toEqual([...names(1).slice(0, 17), 'event loop runs during allreduce', ...names(1).slice(17, 21), 'barrier waits for every rank', ...names(1).slice(21)]);
    expect(names(0)).toContain('allreduce Float64Array mean n=10007 chunk=4096');
  });

  test('three ranks: the shared-memory allreduce adds in rank order, split in three shares (chunked and whole)', async () => {
    const run = await ranks('sums', 60_000, {}, 3);
    expect(run.stderr.match(/allreduce through shared memory/g) ?? []).toHaveLength(3);
    const all = checks(run.stdout);
    expect(all.filter((c) => c.ok !== true)).toEqual([]);
    expect(all).toHaveLength(3 * 2 * 2 * 2 * 4);
    expect(run.code).toBe(0);
  });

  test('one rank started with PTFLOW_MPI_SHM=0 takes every rank off shared memory (none is left waiting)', async () => {
    // MPMD: rank 0 with the variable, rank 1 without.
    const run = await ranks('sums', 60_000, {}, 2, (dir) => [
      '-n', '1', '-env', 'PTFLOW_MPI_SHM', '0', process.execPath, FIXTURE, 'sums', dir, ':', '-n', '1', process.execPath, FIXTURE, 'sums', dir,
    ]);
    expect(run.stderr).not.toMatch(/allreduce through shared memory/);
    const all = checks(run.stdout);
    expect(all.filter((c) => c.ok !== true)).toEqual([]);
    expect(all).toHaveLength(2 * 2 * 2 * 2 * 4);
    expect(run.code).toBe(0);
  });

  test('a worker thread opens the world and allreduces; the main thread goes on with it', async () => {
    const run = await ranks('worker');
    const all = checks(run.stdout);
    expect(all.filter((c) => c.ok !== true)).toEqual([]);
    expect(all).toHaveLength(6);
    expect(run.code).toBe(0);
    // One line per process, however many threads opened the world.
    expect(run.stderr.match(/ptflow: rank \d of 2: pid/g)).toHaveLength(2);
  });

  // Rank 0 waits in an allreduce that rank 1 never joins: the job must end, not hang, and say
  // which rank failed (by name where rank 1 can still speak). The 30 s bound only separates "ended" from "hung" (it ends in ~2 s).
  const faults: [string, (r: Run) => void][] = [
    ['fail', (r) => expect(r.stderr).toContain('ptflow: rank 1 of 2 failed: loss is NaN at step 3; ending all ranks')],
    // The launcher's proxy is paused while rank 1 writes these lines (mpi-ranks.js): mpiexec drops
    // what it has not read when the abort reaches it, so the abort must wait for it to read them.
    ['uncaught', (r) => {
      expect(r.stderr).toContain('uncaught on purpose');
      expect(r.stderr).toContain('ptflow: rank 1 of 2 is exiting with code 1; ending all ranks');
    }],
    ['exit0', (r) => expect(r.stderr).toContain('ptflow: rank 1 of 2 exited before closeWorld()')],
    // Killed by a signal: the rank cannot speak, the launcher reports a bad termination with the pid
    // of the rank it saw end first (rank 1, or rank 0 when hydra's clean-up kill is reaped first);
    // the announce lines map that pid to a rank.
    ['kill', (r) => expect(r.stdout + r.stderr).toMatch(new RegExp(`BAD TERMINATION[\\s\\S]*PID (${pidOf(r.stderr, 0)}|${pidOf(r.stderr, 1)}) RUNNING AT[\\s\\S]*EXIT CODE: 9`))],
    ['term', (r) => expect(r.stdout + r.stderr).toMatch(new RegExp(`BAD TERMINATION[\\s\\S]*PID (${pidOf(r.stderr, 0)}|${pidOf(r.stderr, 1)}) RUNNING AT[\\s\\S]*(EXIT CODE: 15|EXIT CODE: 9)`))],
  ];
  test.each(faults)('rank 1 %s while rank 0 waits in an allreduce: both end within seconds, and the output says who', async (scenario, names) => {
    const run = await ranks(scenario, 30_000);
    expect(run.signal).toBeNull(); // not our hang guard
    expect(run.code).not.toBe(0);
    expect(run.ms).toBeLessThan(30_000);
    const all = checks(run.stdout);
    expect(all.filter((c) => c.case === 'allreduce returned without rank 1')).toEqual([]);
    expect(pidOf(run.stderr, 1)).toBeDefined();
    names(run);
  });

  // Rank 1 is alive but never joins: rank 0's collective timeout (2 s in the fixture) ends the job
  // through MPI_Abort (exit code 124), with rank 0 saying what rank 1 was doing. Bound: the timeout,
  // up to 5 s for rank 1's answer (none from a stopped process), then the abort: well under 20 s.
  const stuck: [string, RegExp][] = [
    ['stop', /rank 1 did not answer within 5 s \(its process is stopped/],
    ['busy', /rank 1 has not called it: its last collective, #1, ended \d+\.\d s ago and it has called none since/],
  ];
  test.each(stuck)('rank 1 alive but stuck (%s) while rank 0 waits in an allreduce: the collective timeout ends both, naming rank 1', async (scenario, about1) => {
    const run = await ranks(scenario, 30_000);
    expect(run.signal).toBeNull(); // not our hang guard
    expect(run.code).toBe(124);
    expect(run.ms).toBeLessThan(20_000);
    expect(run.stderr).toMatch(/ptflow: rank 0 of 2: allreduce of 16 float32 elements \(collective #2\) timed out: waited 2\.0 s for every rank to join/);
    expect(run.stderr).toMatch(about1);
    expect(run.stderr).toContain('; ending all ranks');
    expect(checks(run.stdout).filter((c) => c.case === 'allreduce returned without rank 1')).toEqual([]);
  });
  // A stop signal (SIGTERM from Slurm after it killed another task) with no collective timeout:
  // rank 0 asks whether the ranks it waits for are there. A gone (here: stopped) rank 1 does not
  // answer: the job ends within the 5 s of asking plus the abort, naming it. A rank 1 busy in
  // JavaScript answers, and the allreduce completes on both.
  it('a stop signal while rank 0 waits for a rank that is gone ends the job within seconds, naming it', async () => {
    const run = await ranks('probe-gone', 30_000);
    expect(run.signal).toBeNull();
    expect(run.code).toBe(124);
    expect(run.ms).toBeLessThan(20_000);
    expect(run.stderr).toMatch(/ptflow: rank 0 of 2: allreduce of 16 float32 elements \(collective #2\) cannot complete: rank 1 did not answer within 5 s when this rank was told to stop \(its process is gone or stopped\); ending all ranks/);
    expect(checks(run.stdout).filter((c) => (c.case ?? '').startsWith('allreduce after'))).toEqual([]);
  });

  it('a stop signal while the other rank is only busy changes nothing: the allreduce completes', async () => {
    const run = await ranks('probe-busy', 30_000);
    expect(run.code).toBe(0);
    const all = checks(run.stdout);
    expect(all.map((c) => [c.rank, c.case, c.ok]).sort()).toEqual([[0, 'allreduce after the stop probe (busy)', true], [1, 'allreduce after the stop probe (busy)', true]]);
    expect(run.stderr).not.toMatch(/cannot complete/);
  });
});
