/**
 * gatherJson over simulated ranks (inMemoryWorld): every rank gets every rank's value in rank order,
 * values of different lengths (and multi-byte UTF-8) included.
 */
import type { JsonValue } from '../../schemas/ports';
import { gatherJson } from './gather-json';
import { singleProcess } from './collective';
import { inMemoryWorld } from './testing/in-memory-world';

it("gives every rank each rank's value, in rank order", async () => {
  const values: JsonValue[] = [{ epoch: 0, micro: 3, steps: { s: { n: 1 } } }, null, { kind: 'split', from: null, skip: [{ step: 'größe', outputs: 2 }] }];
  const world = inMemoryWorld(3);
  const got = await Promise.all(world.map((c) => gatherJson(c, values[c.rank])));
  for (const g of got) expect(g).toEqual(values);
});

it('a world of one gets its own value', async () => {
  expect(await gatherJson(singleProcess, { a: 1 })).toEqual([{ a: 1 }]);
});
