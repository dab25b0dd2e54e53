/**
 * Finds a WebGPU adapter through the npm package `webgpu` (Dawn's Node bindings, a prebuilt
 * `dawn.node`; an optional dependency). Only the adapter search lives here; webgpu/init.ts
 * starts tfjs on the chosen adapter.
 *
 * Where Dawn looks (`create([...])` options of the package, tried in this order on Linux):
 * 1. `backend=vulkan`: a real GPU through its Vulkan driver (NVIDIA's `nvidia_icd.json`, Mesa's
 *    radv / anv) loaded by `libvulkan.so.1`.
 * 2. `backend=opengles` with `featureLevel: 'compatibility'`: EGL + OpenGL ES 3.1, which is where
 *    Mesa's software rasteriser (llvmpipe) answers on a machine without a GPU. Mesa's EGL needs a
 *    platform without a display for that: `EGL_PLATFORM=surfaceless` (webgpu/egl-env.ts).
 * Elsewhere (macOS, Windows) Dawn's default backend (Metal, D3D12) is asked.
 *
 * A software adapter (llvmpipe, lavapipe, SwiftShader, …: see `isSoftwareAdapter`) is reported
 * but only used when asked for: it is slower than the wasm backend.
 */
import * as fs from 'fs';
import * as path from 'path';
import { prepareEglPlatform } from './egl-env';
import { hostProcess } from './host';

/** The parts of the WebGPU API used here (the `webgpu` package's own types are optional). */
export interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}
export interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  isFallbackAdapter?: boolean;
  limits: Record<string, number>;
  features: { has(name: string): boolean };
  requestDevice(descriptor?: Record<string, unknown>): Promise<unknown>;
}
export interface GpuLike {
  requestAdapter(options?: Record<string, unknown>): Promise<GpuAdapterLike | null>;
}
export interface WebgpuModule {
  create(options: string[]): GpuLike;
  globals: Record<string, unknown>;
}

/** One place Dawn is asked for an adapter. */
export interface AdapterProbe {
  /** `vulkan`, `opengles` or `default`. */
  via: string;
  createOptions: string[];
  requestOptions: Record<string, unknown>;
}

export interface FoundAdapter {
  gpu: GpuLike;
  adapter: GpuAdapterLike;
  via: string;
  /** e.g. `NVIDIA GeForce RTX 4090 (nvidia, vulkan)`. */
  name: string;
  software: boolean;
}

export interface AdapterSearch {
  /** Adapters found, in probe order (at most one per probe). */
  found: FoundAdapter[];
  /** One line per probe that found nothing, and why. */
  notes: string[];
}

const SOFTWARE = /llvmpipe|lavapipe|softpipe|swiftshader|swrast|software|basic render driver/i;

/** Whether an adapter renders in software on the CPU (from the names Dawn reports). */
export function isSoftwareAdapter(adapter: GpuAdapterLike): boolean {
  const info = adapter.info ?? {};
  if (info.isFallbackAdapter === true || adapter.isFallbackAdapter === true) return true;
  return [info.vendor, info.architecture, info.device, info.description].some((s) => typeof s === 'string' && SOFTWARE.test(s));
}

/** A short human name of an adapter and the way it was reached. */
export function adapterName(adapter: GpuAdapterLike, via: string): string {
  const info = adapter.info ?? {};
  const what = [info.device, info.description].filter((s): s is string => typeof s === 'string' && s.length > 0);
  const vendor = typeof info.vendor === 'string' && info.vendor.length > 0 ? `${info.vendor}, ` : '';
  return `${what.join(' / ') || 'unnamed adapter'} (${vendor}${via})`;
}

export function adapterProbes(platform: NodeJS.Platform = process.platform): AdapterProbe[] {
  if (platform !== 'linux') return [{ via: 'default', createOptions: [], requestOptions: { powerPreference: 'high-performance' } }];
  return [
    { via: 'vulkan', createOptions: ['backend=vulkan'], requestOptions: { powerPreference: 'high-performance' } },
    { via: 'opengles', createOptions: ['backend=opengles'], requestOptions: { featureLevel: 'compatibility' } },
  ];
}

/** Whether `file` (e.g. libvulkan.so.1) is in a directory the dynamic loader searches. */
export function findSharedLibrary(file: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const dirs = [
    ...(env['LD_LIBRARY_PATH'] ?? '').split(':').filter((d) => d.length > 0),
    `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
    `/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`,
    '/usr/lib64',
    '/lib64',
    '/usr/lib',
    '/lib',
    '/usr/local/lib',
  ];
  for (const d of dirs) {
    const p = path.join(d, file);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

/**
 * Ask Dawn for an adapter at each probe. `stopAtHardware`: stop at the first real GPU (software
 * adapters found on the way are kept in the result, so the caller can say why it skipped them).
 */
export async function searchAdapters(
  mod: WebgpuModule,
  opts: { stopAtHardware?: boolean; probes?: AdapterProbe[]; skipVulkanWithoutLoader?: boolean } = {},
): Promise<AdapterSearch> {
  const found: FoundAdapter[] = [];
  const notes: string[] = [];
  for (const probe of opts.probes ?? adapterProbes()) {
    if (probe.via === 'vulkan' && opts.skipVulkanWithoutLoader === true && findSharedLibrary('libvulkan.so.1') === undefined) {
      notes.push('webgpu/vulkan: libvulkan.so.1 not found (Debian/Ubuntu: apt-get install libvulkan1)');
      continue;
    }
    if (probe.via === 'opengles' && !prepareEglPlatform(hostProcess.env)) {
      notes.push('webgpu/opengles: EGL_PLATFORM is unset and a worker thread cannot set it (set EGL_PLATFORM=surfaceless)');
    }
    let adapter: GpuAdapterLike | null;
    let gpu: GpuLike;
    try {
      gpu = mod.create(probe.createOptions);
      adapter = await gpu.requestAdapter(probe.requestOptions);
    } catch (e) {
      notes.push(`webgpu/${probe.via}: ${errorText(e)}`);
      continue;
    }
    if (adapter == null) {
      notes.push(`webgpu/${probe.via}: no adapter`);
      continue;
    }
    const software = isSoftwareAdapter(adapter);
    found.push({ gpu, adapter, via: probe.via, name: adapterName(adapter, probe.via), software });
    if (opts.stopAtHardware === true && !software) break;
  }
  return { found, notes };
}
