/**
 * `ptflow doctor`: what this machine offers the trainer — the backend packages that load, the
 * WebGPU adapters Dawn finds (and whether each is a real GPU), the native kernel addon, threads —
 * and which backend `backend: auto` would pick. Starts no backend; nothing is trained.
 */
import { createRequire } from 'module';
import { defaultThreads, TENSORFLOW_MODULES } from '../engine/backend';
import { nativeStatus } from '../engine/native';
import { adapterProbes, findSharedLibrary, searchAdapters, type WebgpuModule } from '../engine/webgpu/dawn';
import { WEBGPU_MODULES } from '../engine/webgpu/init';

export interface DoctorReport {
  node: string;
  platform: string;
  threads: number;
  packages: Array<{ id: string; version: string | null; loads: boolean; reason?: string }>;
  vulkanLoader: string | null;
  adapters: Array<{ name: string; via: string; software: boolean }>;
  adapterNotes: string[];
  native: { active: boolean; isa?: string; available?: string[]; threads?: number; reason?: string };
  /** What `backend: auto` picks here, and why. */
  auto: { backend: string; why: string };
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function versionOf(req: NodeJS.Require, id: string): string | null {
  try {
    return (req(`${id}/package.json`) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

export async function doctorReport(): Promise<DoctorReport> {
  const req = createRequire(__filename);
  const packages: DoctorReport['packages'] = [];
  const tryLoad = (id: string): unknown => {
    try {
      const m = req(id);
      packages.push({ id, version: versionOf(req, id), loads: true });
      return m;
    } catch (e) {
      packages.push({ id, version: versionOf(req, id), loads: false, reason: errorText(e) });
      return undefined;
    }
  };
  const tensorflow = TENSORFLOW_MODULES.find((id) => tryLoad(id) !== undefined);
  const tfjsWebgpu = tryLoad(WEBGPU_MODULES.tfjs);
  const dawn = tryLoad(WEBGPU_MODULES.dawn) as WebgpuModule | undefined;
  tryLoad('@tensorflow/tfjs-backend-wasm');

  let adapters: DoctorReport['adapters'] = [];
  let adapterNotes: string[] = [];
  if (dawn !== undefined) {
    const search = await searchAdapters(dawn, { probes: adapterProbes(), skipVulkanWithoutLoader: true });
    adapters = search.found.map((f) => ({ name: f.name, via: f.via, software: f.software }));
    adapterNotes = search.notes;
  }
  const n = nativeStatus();
  // backend: auto looks through Vulkan only on Linux (webgpu/init.ts)
  const gpu = adapters.find((a) => !a.software && !(process.platform === 'linux' && a.via === 'opengles'));
  let auto: DoctorReport['auto'];
  if (tensorflow !== undefined) auto = { backend: 'tensorflow', why: `${tensorflow} loads` };
  else if (gpu !== undefined && tfjsWebgpu !== undefined) auto = { backend: 'webgpu', why: `GPU adapter ${gpu.name}` };
  else {
    const why =
      dawn === undefined || tfjsWebgpu === undefined
        ? 'the webgpu packages are not installed'
        : adapters.length > 0
          ? 'only software adapters (used only with backend: webgpu + webgpu_allow_software: true)'
          : 'no WebGPU adapter';
    auto = { backend: 'wasm', why: `no tensorflow package; ${why}` };
  }
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    threads: defaultThreads(),
    packages,
    vulkanLoader: process.platform === 'linux' ? (findSharedLibrary('libvulkan.so.1') ?? null) : null,
    adapters,
    adapterNotes,
    native: {
      active: n.active,
      ...(n.isa !== undefined ? { isa: n.isa } : {}),
      ...(n.available !== undefined ? { available: n.available } : {}),
      ...(n.threads !== undefined ? { threads: n.threads } : {}),
      ...(n.reason !== undefined ? { reason: n.reason } : {}),
    },
    auto,
  };
}

export function formatDoctor(r: DoctorReport): string {
  const lines: string[] = [];
  lines.push(`node ${r.node} on ${r.platform}, ${r.threads} threads`);
  lines.push('backend packages:');
  for (const p of r.packages) {
    const v = p.version !== null ? `@${p.version}` : '';
    lines.push(`  ${p.loads ? 'ok     ' : 'missing'} ${p.id}${v}${p.loads ? '' : ` (${p.reason ?? 'not installed'})`}`);
  }
  if (r.platform.startsWith('linux')) lines.push(`vulkan loader: ${r.vulkanLoader ?? 'libvulkan.so.1 not found (apt-get install libvulkan1)'}`);
  lines.push('webgpu adapters:');
  if (r.adapters.length === 0) lines.push('  none');
  for (const a of r.adapters) lines.push(`  ${a.software ? 'software' : 'GPU     '} ${a.name}`);
  for (const note of r.adapterNotes) lines.push(`  (${note})`);
  const nat = r.native;
  lines.push(
    `native kernels: ${nat.active ? `${nat.isa ?? 'on'} (available: ${(nat.available ?? []).join(', ')}; ${nat.threads ?? 1} threads)` : `inactive (${nat.reason ?? 'unknown'})`}`,
  );
  lines.push(`backend: auto → ${r.auto.backend} (${r.auto.why})`);
  return lines.join('\n');
}

export async function runDoctorCommand(flags: { json?: boolean }): Promise<number> {
  const r = await doctorReport();
  process.stdout.write((flags.json === true ? JSON.stringify(r, null, 2) : formatDoctor(r)) + '\n');
  return 0;
}
