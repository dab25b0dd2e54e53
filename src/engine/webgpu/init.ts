/**
 * Starts tfjs' `webgpu` backend (`@tensorflow/tfjs-backend-webgpu`) on an adapter that the npm
 * package `webgpu` (Dawn) finds; both packages are optional dependencies.
 *
 * tfjs-backend-webgpu registers its own backend factory only where `navigator.gpu` exists when it
 * loads, and asks for an adapter with default options (no OpenGL ES compatibility mode). ptflow
 * registers the `webgpu` backend itself instead, on the adapter chosen in webgpu/dawn.ts, and gives
 * it a `readSync` that works under Node (webgpu/sync-read.ts).
 *
 * The model's ops need nothing else on webgpu: ptflow's own kernels (kernels/register.ts) and the
 * fused native kernels exist for wasm and cpu only; on webgpu every op of the model — the custom
 * ops with hand-written gradients included — is composed from stock tfjs kernels, which
 * tfjs-backend-webgpu implements (BatchMatMul, Softmax, GatherV2, ScatterNd, …).
 */
import { createRequire } from 'module';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { usageError } from '../../errors';
import { adapterProbes, findSharedLibrary, searchAdapters, type FoundAdapter, type GpuAdapterLike, type WebgpuModule } from './dawn';
import { installTickCapture, noteDeviceError, patchReadSync, removeTickCapture } from './sync-read';

export const WEBGPU_MODULES = { dawn: 'webgpu', tfjs: '@tensorflow/tfjs-backend-webgpu' } as const;

export interface WebgpuStarted {
  /** The adapter, e.g. `NVIDIA GeForce RTX 4090 (nvidia, vulkan)`. */
  adapter: string;
  software: boolean;
  /** Why this adapter (for the start line). */
  why: string;
}

export interface StartWebgpuOptions {
  /** `auto`: only a real GPU, failures are notes; `explicit`: failures are errors. */
  mode: 'auto' | 'explicit';
  /** Use a software adapter when no GPU is found (`webgpu_allow_software`; `explicit` mode only). */
  allowSoftware: boolean;
  /** Loads `@tensorflow/tfjs-backend-webgpu` and `webgpu` (tests pass stand-ins). */
  requireModule?: (id: string) => unknown;
}

const GPU_HINT =
  'On Linux a GPU is reached through Vulkan: install the loader (Debian/Ubuntu: apt-get install libvulkan1) and ' +
  "the GPU's driver (NVIDIA: the driver provides nvidia_icd.json; in a container set " +
  'NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics); `npx ptflow doctor` lists the adapters found';

const SOFTWARE_HINT =
  'a software adapter is slower than backend: wasm and is never picked by backend: auto; to use it anyway ' +
  '(e.g. to test the webgpu code path) set backend: webgpu and webgpu_allow_software: true';

/**
 * `require` of the host (not a test runner's registry): `webgpu` is an ES module with a native
 * addon; Node ≥ 20.19 loads it with `require`. Older Node: its `dawn.node` directly.
 */
function loadDawnDefault(id: string): unknown {
  const req = createRequire(__filename);
  try {
    return req(id);
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_REQUIRE_ESM') throw e;
    const dir = path.dirname(req.resolve(`${id}/package.json`));
    const arch = process.platform === 'darwin' ? 'universal' : process.arch;
    return req(path.join(dir, 'dist', `${process.platform}-${arch}`, 'dawn.node'));
  }
}

function errorText(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}

function asDawn(m: unknown): WebgpuModule {
  const o = m as Partial<WebgpuModule> | null;
  if (o == null || typeof o.create !== 'function' || typeof o.globals !== 'object') {
    throw new Error('the module has no create() / globals');
  }
  return o as WebgpuModule;
}

type BackendCtor = new (device: unknown, adapterInfo: unknown) => tf.KernelBackend;
function asTfjsWebgpu(m: unknown): BackendCtor {
  const ctor = (m as { WebGPUBackend?: unknown } | null)?.WebGPUBackend;
  if (typeof ctor !== 'function') throw new Error('the module has no WebGPUBackend');
  return ctor as BackendCtor;
}

interface NavigatorHolder {
  navigator?: { gpu?: unknown };
}
let createdNavigator = false;

function exposeGpu(gpu: unknown): void {
  const g = globalThis as NavigatorHolder;
  if (g.navigator == null) {
    g.navigator = {};
    createdNavigator = true;
  }
  g.navigator.gpu = gpu;
}

/** The limits tfjs-backend-webgpu asks for (the adapter's own maxima, as its own factory does). */
function deviceLimits(a: GpuAdapterLike): Record<string, number> {
  const keys = [
    'maxComputeWorkgroupStorageSize',
    'maxComputeWorkgroupsPerDimension',
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
  ];
  const out: Record<string, number> = {};
  for (const k of keys) if (typeof a.limits[k] === 'number') out[k] = a.limits[k];
  return out;
}

/**
 * Find an adapter and make `webgpu` the tfjs backend. `auto`: returns undefined (with notes)
 * where no real GPU is found or anything fails; `explicit`: throws a PtflowError saying what to do.
 */
export async function startWebgpu(opts: StartWebgpuOptions, notes: string[]): Promise<WebgpuStarted | undefined> {
  const req = opts.requireModule;
  const fail = (message: string): undefined => {
    if (opts.mode === 'explicit') throw usageError(`backend 'webgpu': ${message}`);
    notes.push(`webgpu: ${message}`);
    return undefined;
  };

  // backend: auto looks for a GPU through Vulkan only (on Linux): without the Vulkan loader there
  // is none to find, so Dawn is not even loaded (it would print a warning on every start).
  const autoLinux = opts.mode === 'auto' && process.platform === 'linux';
  if (autoLinux && findSharedLibrary('libvulkan.so.1') === undefined) {
    return fail('no Vulkan loader (libvulkan.so.1), so no GPU adapter to look for; GPU users: apt-get install libvulkan1');
  }

  let dawn: WebgpuModule;
  let Backend: BackendCtor;
  try {
    Backend = asTfjsWebgpu((req ?? require)(WEBGPU_MODULES.tfjs));
    dawn = asDawn((req ?? loadDawnDefault)(WEBGPU_MODULES.dawn));
  } catch (e) {
    return fail(
      `not available (${errorText(e)}); install the optional packages with \`npm install ${WEBGPU_MODULES.dawn} ${WEBGPU_MODULES.tfjs}\``,
    );
  }

  installTickCapture();
  // Explicit requests also try OpenGL ES (Mesa's llvmpipe, or a GPU without a Vulkan driver).
  const probes = adapterProbes().filter((p) => !(autoLinux && p.via === 'opengles'));
  const search = await searchAdapters(dawn, { stopAtHardware: true, probes });
  const hardware = search.found.find((f) => !f.software);
  const software = search.found.find((f) => f.software);
  let chosen: FoundAdapter | undefined;
  let why: string;
  if (hardware) {
    chosen = hardware;
    why = 'a GPU adapter';
  } else if (software && opts.allowSoftware && opts.mode === 'explicit') {
    chosen = software;
    why = 'software adapter, allowed by webgpu_allow_software';
  } else {
    removeTickCapture();
    const tried = search.notes.length > 0 ? ` (${search.notes.join('; ')})` : '';
    if (software) {
      return fail(`only a software adapter was found: ${software.name}${tried}; ${SOFTWARE_HINT}. ${GPU_HINT}`);
    }
    return fail(`no adapter found${tried}. ${GPU_HINT}`);
  }
  for (const f of search.found) if (f !== chosen) notes.push(`webgpu: also found ${f.name}${f.software ? ' (software)' : ''}`);

  Object.assign(globalThis, dawn.globals);
  exposeGpu(chosen.gpu);
  const usage = dawn.globals['GPUBufferUsage'] as { COPY_DST: number; MAP_READ: number } | undefined;
  const mapMode = dawn.globals['GPUMapMode'] as { READ: number } | undefined;
  const adapter = chosen.adapter;
  if (tf.findBackendFactory('webgpu') != null) tf.removeBackend('webgpu');
  tf.registerBackend(
    'webgpu',
    async () => {
      const device = await adapter.requestDevice({ requiredLimits: deviceLimits(adapter) });
      const events = device as { addEventListener?: (type: string, fn: (ev: { error?: { message?: string } }) => void) => void };
      events.addEventListener?.('uncapturederror', (ev) => noteDeviceError(ev.error?.message ?? 'unknown device error'));
      const backend = new Backend(device, adapter.info);
      if (usage !== undefined && mapMode !== undefined && !patchReadSync(backend, usage, mapMode.READ)) {
        notes.push('webgpu: this tfjs-backend-webgpu lacks the internals of synchronous reads; dataSync may fail');
      }
      return backend;
    },
    1,
  );
  let started = false;
  try {
    started = await tf.setBackend('webgpu');
  } catch (e) {
    notes.push(`webgpu: ${errorText(e)}`);
  }
  if (!started) {
    tf.removeBackend('webgpu');
    stopWebgpu();
    return fail(`the backend failed to start on ${chosen.name}${notes.length ? ` (${notes[notes.length - 1]})` : ''}`);
  }
  return { adapter: chosen.name, software: chosen.software, why };
}

/** Undo `startWebgpu`'s process-wide changes (the backend itself is removed by the caller). */
export function stopWebgpu(): void {
  removeTickCapture();
  const g = globalThis as NavigatorHolder;
  if (createdNavigator) {
    delete g.navigator;
    createdNavigator = false;
  } else if (g.navigator != null) {
    delete g.navigator.gpu;
  }
}
