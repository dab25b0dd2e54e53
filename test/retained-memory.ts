/**
 * What this process keeps alive (JS heap plus array buffers), measured after a full garbage
 * collection. Memory tests bound this, not RSS: RSS also counts garbage not collected yet and
 * allocator slack, which depend on the machine's load, not on the code under test.
 *
 * The --expose-gc flag can be set at run time; `gc` is then reachable in a fresh context.
 */
import * as v8 from 'node:v8';
import * as vm from 'node:vm';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

export function retainedBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
