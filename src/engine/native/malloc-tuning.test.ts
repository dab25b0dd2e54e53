/**
 * What the addon does to glibc's malloc when it loads (native/src/malloc_tuning.cc), in fresh
 * processes whose environment the test controls: the 32 MiB mmap and 256 MiB trim thresholds by
 * default, and nothing when the user chose for themselves (glibc's variables or PTFLOW_MALLOC).
 */
import { spawnSync } from 'node:child_process';
import { defaultAddonPath, loadNativeAddon } from './addon';

const addonPath = defaultAddonPath();
const glibc = process.platform === 'linux' && (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime !== undefined;

function infoWith(env: Record<string, string>): unknown {
  const clean: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '' };
  const r = spawnSync(process.execPath, ['-e', `process.stdout.write(JSON.stringify((m => m === undefined ? 'absent' : m)(require(${JSON.stringify(addonPath)}).info().malloc)))`], {
    env: { ...clean, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

(loadNativeAddon().ok && glibc ? describe : describe.skip)('malloc settings applied by the addon (glibc)', () => {
  test('by default: blocks up to 32 MiB stay in the arenas, 256 MiB of free memory before trimming', () => {
    expect(infoWith({})).toEqual({ mmapThreshold: 32 * 2 ** 20, trimThreshold: 256 * 2 ** 20 });
  });

  test.each([
    ['PTFLOW_MALLOC', 'default'],
    ['MALLOC_MMAP_THRESHOLD_', '131072'],
    ['MALLOC_TRIM_THRESHOLD_', '131072'],
    ['GLIBC_TUNABLES', 'glibc.malloc.arena_max=2'],
  ])('left alone when %s=%s', (name, value) => {
    expect(infoWith({ [name]: value })).toBeNull();
  });
});
