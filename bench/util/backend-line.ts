/** One line describing the backend a benchmark ran on. */
import type { BackendInfo } from '../../src/engine/backend';

export function describeBackend(info: BackendInfo): string {
  const native = info.native ? (info.native.active ? `native ${info.native.isa ?? 'on'}` : 'native off') : '';
  const parts = [info.name, `${info.threads} thread${info.threads === 1 ? '' : 's'}`, info.simd ? 'SIMD' : 'no SIMD'];
  if (native) parts.push(native);
  if (info.adapter !== undefined) parts.push(`adapter ${info.adapter}`);
  return parts.join(', ');
}
