/**
 * Map mode without tokenized_path keeps no memory per token: building the run's cache (ensureRunCache)
 * and reading training rows from it (BlockSource over SplitTokens, a shuffled epoch) keep the same live
 * memory for a corpus twice as large (1.2M tokens more), beyond the epoch's permutation (4 bytes per
 * block). Measured by bench/run-cache-live-memory.ts in a process of its own, one per corpus size.
 *
 * What is measured is what stays reachable (heap + ArrayBuffers after a forced collection): RSS would
 * also count garbage not yet collected, which depends on the machine's load, not on what the code keeps.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { ROOT, tinyModelDir, tmpDir } from '../../test/helpers';

const measured = z.object({ tokens: z.number(), blocks: z.number(), build: z.number(), read: z.number() });
const root = tmpDir('ptflow-run-cache-mem-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function measure(times: number): Promise<z.infer<typeof measured>> {
  const probe = path.join(ROOT, 'dist', 'bench', 'run-cache-live-memory.js');
  const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', probe, root, tinyModelDir(root), String(times)], { cwd: ROOT });
  return measured.parse(JSON.parse(stdout.trim().split('\n').pop()!));
}

it('building and reading the run cache retain no memory per token (live memory, corpus 7× vs 14×)', async () => {
  // Both sizes fill whole record batches (1M tokens): the writer's batch buffer is the same in both.
  const small = await measure(7);
  const large = await measure(14);
  const dTokens = large.tokens - small.tokens;
  const mib = (x: number): string => (x / 2 ** 20).toFixed(1);
  console.log(
    `live memory above the start, ${small.tokens} vs ${large.tokens} tokens: build ${mib(small.build)} vs ${mib(large.build)} MiB, ` +
      `reading rows ${mib(small.read)} vs ${mib(large.read)} MiB`,
  );
  expect(small.tokens).toBeGreaterThan(1_100_000);
  expect(dTokens).toBeGreaterThan(1_100_000);
  // Holding the tokens (4 bytes each) would add > 4 MiB here, 12 bytes per token > 13 MiB; what the
  // build holds (a record batch being filled, the scratch file's write buffer, a read chunk, a batch
  // of documents) is the same at both sizes, give or take the batch in flight when sampled.
  expect(large.build - small.build).toBeLessThan(2 * 2 ** 20);
  // Reading: the epoch's permutation (4 bytes per block) and a few bytes per record batch.
  expect(large.read - small.read).toBeLessThan(4 * (large.blocks - small.blocks) + 2 ** 20);
}, 240_000);
