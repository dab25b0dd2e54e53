/** One line describing the backend a benchmark ran on. */
import type { BackendInfo } from '../../src/engine/backend';

export function describeBackend(info: BackendInfo): string {
  // A GPU backend: the adapter is what matters (the JavaScript thread only dispatches).
  if (info.adapter !== undefined) return `${info.name}, adapter ${info.adapter}`;
  const native = info.native ? (info.native.active ? `native ${info.native.isa ?? 'on'}` : 'native off') : '';
  const parts = [info.name, `${info.threads} thread${info.threads === 1 ? '' : 's'}`, info.simd ? 'SIMD' : 'no SIMD'];
  if (native) parts.push(native);
  return parts.join(', ');
}
