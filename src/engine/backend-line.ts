/** The one log line that says which backend a trainer or evaluator runs on (and, for webgpu, which adapter and why). */
import type { BackendInfo } from './backend';

export function backendStartLine(b: BackendInfo): string {
  let line = `backend: ${b.name}`;
  if (b.adapter !== undefined) line += ` on ${b.adapter}${b.adapterWhy !== undefined ? ` (${b.adapterWhy})` : ''}`;
  if (b.name !== 'webgpu' && b.threads > 1) line += ` (${b.threads} threads)`;
  if (b.native?.active === true) line += `, native kernels (${b.native.isa ?? 'on'})`;
  return line;
}
