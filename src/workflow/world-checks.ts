/**
 * What a data-parallel run (several processes, src/distributed/launch.ts) refuses before any
 * thread starts, each with what to do instead.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TrainConfig } from '../config';
import { PtflowError } from '../errors';
import type { Launch } from '../distributed/launch';

export function refuseUnsupportedInWorld(c: TrainConfig, world: Launch): void {
  if (world.size === 1) return;
  const who = `${world.size} processes (${world.source})`;
  if (c.tokenized_path && (c.overwrite_cache || !existsSync(path.join(c.tokenized_path, 'index.json')))) {
    // Every rank would tokenize the corpus into the same directory at once.
    throw new PtflowError(
      `tokenized_path ${c.tokenized_path} with ${who}: ` +
        (c.overwrite_cache ? 'overwrite_cache would make every process rebuild it at once' : 'it holds no finished cache (index.json)') +
        '. Build it once first: `ptflow prepare <config>` (or `ptflow train` in one process), then launch the processes',
      2,
    );
  }
}
