/**
 * Every rank's JSON value on every rank, in rank order: the lengths summed into one vector (each rank
 * fills its own slot), then each rank's UTF-8 bytes broadcast from it. Small values only (data cursors
 * at a checkpoint); a world of one returns its own value without a collective.
 */
import type { JsonValue } from '../../schemas/ports';
import type { Collective } from './collective';

export async function gatherJson(c: Collective, value: JsonValue): Promise<JsonValue[]> {
  const own = Buffer.from(JSON.stringify(value), 'utf8');
  if (c.size === 1) return [value];
  const lengths = new Float64Array(c.size);
  lengths[c.rank] = own.length;
  await c.allreduce(lengths, 'sum');
  const out: JsonValue[] = [];
  for (let r = 0; r < c.size; r++) {
    const bytes = r === c.rank ? new Uint8Array(own) : new Uint8Array(lengths[r]);
    await c.broadcast(bytes, r);
    out.push(r === c.rank ? value : (JSON.parse(Buffer.from(bytes).toString('utf8')) as JsonValue));
  }
  return out;
}
