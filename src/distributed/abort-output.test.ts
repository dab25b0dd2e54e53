/**
 * The lines a failing rank writes just before the job is aborted reach the launcher: stderrLine
 * waits out a full stderr pipe instead of dropping the line, and the MPI addon's abort first waits
 * until the launcher has read the rank's stdout and stderr (waitOutputTaken), because MPICH's
 * mpiexec exits, dropping unread output, as soon as the abort reaches it. Real processes and
 * pipes: a child writes into a pipe whose reader (a shell loop) starts reading only when told to.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultMpiAddonPath } from './mpi-binding';

const ROOT = path.resolve(__dirname, '..', '..');
const STDERR_LINE_JS = path.join(ROOT, 'dist', 'src', 'distributed', 'stderr-line.js');
const addon = defaultMpiAddonPath();

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptflow-abort-output-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** `sh -c script` with DIR and NODE set; resolves with its stdout and stderr once it ends. */
function shell(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script], { env: { ...process.env, DIR: dir, NODE: process.execPath, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// The reader: waits for $DIR/$1 to exist, then (after $2 seconds) notes that it reads, and reads.
// It gives up waiting after 30 s (a child that died before creating the file would otherwise leave
// the test hanging with nothing said): then it reads at once, and the test fails on what it got.
const READER =
  'r() { i=0; while [ ! -e "$DIR/$1" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; sleep "$2"; touch "$DIR/reading"; cat; }';

test('stderrLine waits while the stderr pipe is full, and every line arrives whole and in order', async () => {
  // The child's stderr is a pipe that nobody reads for 0.3 s after the child starts writing 40 lines
  // of 10 kB (more than a pipe holds). process.stderr makes descriptor 2 non-blocking, as in a rank.
  const child = `
    process.stderr;
    const { stderrLine } = require(process.env.STDERR_LINE_JS);
    require('node:fs').writeFileSync(process.env.DIR + '/started', '');
    for (let i = 0; i < 40; i++) stderrLine('line ' + i + ' ' + 'x'.repeat(10000));`;
  const run = await shell(`${READER}; "$NODE" -e "$CHILD" 2>&1 >/dev/null | r started 0.3`, { CHILD: child, STDERR_LINE_JS });
  expect(run.code).toBe(0);
  const lines = run.stdout.split('\n').filter((l) => l !== '');
  expect(lines.map((l) => l.split(' ', 2).join(' '))).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i}`));
  expect(lines.every((l, i) => l === `line ${i} ${'x'.repeat(10000)}`)).toBe(true);
});

(addon !== undefined && fs.existsSync(addon) ? test : test.skip)('the MPI addon waits until the reader has taken what this process wrote, and gives up after its timeout', async () => {
  // 1000 bytes wait in the stdout pipe: nobody reads before the child creates $DIR/go.
  const child = `
    const fs = require('node:fs');
    const b = require(process.env.ADDON);
    fs.writeSync(1, 'y'.repeat(1000));
    const before = b.waitOutputTaken(100);
    fs.writeFileSync(process.env.DIR + '/go', '');
    const after = b.waitOutputTaken(30000);
    fs.writeSync(2, JSON.stringify({ before, after, reading: fs.existsSync(process.env.DIR + '/reading') }));`;
  const run = await shell(`${READER}; "$NODE" -e "$CHILD" | r go 0`, { CHILD: child, ADDON: addon as string });
  expect([run.code, run.code === 0 ? '' : run.stderr]).toEqual([0, '']);
  expect(run.stdout).toBe('y'.repeat(1000));
  // before: unread for 100 ms, so false; after: true only once the reader has started reading
  expect(JSON.parse(run.stderr)).toEqual({ before: false, after: true, reading: true });
});
