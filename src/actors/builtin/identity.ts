/**
 * identity: passes every docs batch on unchanged.
 * The baseline of bench/actors.ts: what one more step in the graph costs by itself.
 */
import { z } from 'zod';
import { defineActor } from '../api';

export default defineActor({
  name: 'identity',
  description: 'passes batches on unchanged (for measuring the cost of a step)',
  input: 'docs',
  output: 'docs',
  options: z.object({}).strict(),
  process: (batch) => batch,
});
