/**
 * Backend selection with stand-in modules: `webgpu` (Dawn) answers with scripted adapters and
 * `@tensorflow/tfjs-backend-webgpu`'s WebGPUBackend is a cpu backend under another name, so the
 * order tensorflow → webgpu → wasm and the software-adapter rules are checked without a GPU.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { PtflowError } from '../../errors';
import { initBackend, shutdownBackend } from '../backend';
import { backendStartLine } from '../backend-line';
import { findSharedLibrary, isSoftwareAdapter, type GpuAdapterInfoLike, type GpuAdapterLike } from './dawn';

const GPU: GpuAdapterInfoLike = { vendor: 'nvidia', architecture: 'ada', device: 'NVIDIA GeForce RTX 4090', description: 'NVIDIA: 550.54' };
const LLVMPIPE: GpuAdapterInfoLike = { vendor: '', device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version OpenGL ES 3.2 Mesa 22.3.6' };

interface Script {
  /** Adapter per Dawn backend option (`vulkan`, `opengles`), or an error to throw. */
  vulkan?: GpuAdapterInfoLike | Error;
  opengles?: GpuAdapterInfoLike | Error;
  tensorflow?: boolean;
  dawnMissing?: boolean;
}

function adapterOf(info: GpuAdapterInfoLike, log: string[]): GpuAdapterLike {
  return {
    info,
    limits: { maxBufferSize: 1 << 30 },
    features: { has: () => false },
    requestDevice: async () => {
      log.push(`device:${info.device ?? ''}`);
      return {};
    },
  };
}

/** A requireModule stand-in; `log` records what was loaded and asked. */
function standIns(s: Script, log: string[]): (id: string) => unknown {
  return (id: string) => {
    log.push(id);
    if (id === '@tensorflow/tfjs-node-gpu' || id === '@tensorflow/tfjs-node') {
      if (s.tensorflow !== true) throw new Error(`Cannot find module '${id}'`);
      tf.registerBackend('tensorflow', () => new MathBackendCPU(), 3);
      return {};
    }
    if (id === '@tensorflow/tfjs-backend-webgpu') {
      return { WebGPUBackend: class extends MathBackendCPU {} };
    }
    if (id === 'webgpu') {
      if (s.dawnMissing === true) throw new Error("Cannot find module 'webgpu'");
      return {
        globals: { GPUBufferUsage: { COPY_DST: 8, MAP_READ: 1 }, GPUMapMode: { READ: 1 } },
        create: (options: string[]) => ({
          requestAdapter: async () => {
            const via = options.find((o) => o.startsWith('backend='))?.slice('backend='.length) ?? 'default';
            log.push(`adapter?${via}`);
            const a = via === 'vulkan' ? s.vulkan : via === 'opengles' ? s.opengles : undefined;
            if (a instanceof Error) throw a;
            return a === undefined ? null : adapterOf(a, log);
          },
        }),
      };
    }
    throw new Error(`Cannot find module '${id}'`);
  };
}

const onLinux = process.platform === 'linux' ? test : test.skip;

/** A directory on LD_LIBRARY_PATH holding a stand-in `libvulkan.so.1` (auto only looks for it). */
function withVulkanLoader(): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptflow-vk-'));
  writeFileSync(path.join(dir, 'libvulkan.so.1'), '');
  process.env['LD_LIBRARY_PATH'] = dir;
}

describe('backend selection with webgpu', () => {
  const savedLdPath = process.env['LD_LIBRARY_PATH'];
  beforeEach(() => {
    if (findSharedLibrary('libvulkan.so.1') === undefined) withVulkanLoader();
  });
  afterEach(async () => {
    if (savedLdPath === undefined) delete process.env['LD_LIBRARY_PATH'];
    else process.env['LD_LIBRARY_PATH'] = savedLdPath;
    await shutdownBackend();
    if (tf.findBackendFactory('tensorflow') != null) tf.removeBackend('tensorflow');
    expect(tf.findBackendFactory('webgpu')).toBeNull();
    expect((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu).toBeUndefined();
  });

  test('software adapters are recognised by name', () => {
    const a = (info: GpuAdapterInfoLike): GpuAdapterLike => adapterOf(info, []);
    expect(isSoftwareAdapter(a(LLVMPIPE))).toBe(true);
    expect(isSoftwareAdapter(a({ device: 'llvmpipe (LLVM 15.0.6, 256 bits)', description: 'Mesa 22.3.6 (lavapipe)' }))).toBe(true);
    expect(isSoftwareAdapter(a({ vendor: 'google', device: 'SwiftShader Device (Subzero)' }))).toBe(true);
    expect(isSoftwareAdapter(a({ device: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' }))).toBe(false);
    expect(isSoftwareAdapter(a(GPU))).toBe(false);
    expect(isSoftwareAdapter(a({ device: 'x', isFallbackAdapter: true }))).toBe(true);
  });

  test('auto: tensorflow first; webgpu is not even loaded then', async () => {
    const log: string[] = [];
    const info = await initBackend('auto', { requireModule: standIns({ tensorflow: true, vulkan: GPU }, log) });
    expect(info.name).toBe('tensorflow');
    expect(log).not.toContain('webgpu');
  });

  onLinux('auto: no tensorflow, a real GPU → webgpu on it, and the start line says which and why', async () => {
    const log: string[] = [];
    const info = await initBackend('auto', { threads: 1, requireModule: standIns({ vulkan: GPU }, log) });
    expect(info).toMatchObject({ name: 'webgpu', module: '@tensorflow/tfjs-backend-webgpu', adapterWhy: 'a GPU adapter' });
    expect(info.adapter).toBe('NVIDIA GeForce RTX 4090 / NVIDIA: 550.54 (nvidia, vulkan)');
    expect(tf.getBackend()).toBe('webgpu');
    expect(log.indexOf('@tensorflow/tfjs-node')).toBeLessThan(log.indexOf('webgpu'));
    expect(log).toContain('device:NVIDIA GeForce RTX 4090');
    expect(info.notes.filter((n) => /tfjs-node(-gpu)?: not loaded/.test(n))).toHaveLength(2);
    expect(backendStartLine(info)).toBe(`backend: webgpu on ${info.adapter} (a GPU adapter)`);
  });

  onLinux('auto: a software adapter is never picked; wasm runs and the note says how to allow it', async () => {
    const log: string[] = [];
    const info = await initBackend('auto', { threads: 1, webgpuAllowSoftware: true, requireModule: standIns({ vulkan: LLVMPIPE, opengles: LLVMPIPE }, log) });
    expect(info.name).toBe('wasm');
    expect(log.some((l) => l.startsWith('device:'))).toBe(false);
    // auto asks Vulkan only: OpenGL ES is where Mesa's llvmpipe lives
    expect(log).toContain('adapter?vulkan');
    expect(log).not.toContain('adapter?opengles');
    const note = info.notes.find((n) => n.startsWith('webgpu:')) ?? '';
    expect(note).toMatch(/only a software adapter was found: llvmpipe/);
    expect(note).toMatch(/webgpu_allow_software: true/);
  });

  test('auto: without the webgpu package, wasm with a note that says how to install it', async () => {
    const info = await initBackend('auto', { threads: 1, requireModule: standIns({ dawnMissing: true }, []) });
    expect(info.name).toBe('wasm');
    expect(info.notes).toContainEqual(expect.stringMatching(/^webgpu: not available \(Cannot find module 'webgpu'\); install .*npm install webgpu @tensorflow\/tfjs-backend-webgpu/));
  });

  onLinux('auto without the Vulkan loader: Dawn is not loaded; the note says what GPU users install', async () => {
    process.env['LD_LIBRARY_PATH'] = mkdtempSync(path.join(os.tmpdir(), 'ptflow-novk-'));
    if (findSharedLibrary('libvulkan.so.1') !== undefined) return; // the real loader is in a system directory here
    const log: string[] = [];
    const info = await initBackend('auto', { threads: 1, requireModule: standIns({ vulkan: GPU }, log) });
    expect(info.name).toBe('wasm');
    expect(log).not.toContain('webgpu');
    expect(info.notes).toContainEqual(expect.stringMatching(/^webgpu: no Vulkan loader .*apt-get install libvulkan1/));
  });

  test('auto: no adapter at all, wasm with a note naming what to install', async () => {
    const info = await initBackend('auto', { threads: 1, requireModule: standIns({ vulkan: new Error('boom'), opengles: undefined }, []) });
    expect(info.name).toBe('wasm');
    expect(info.notes).toContainEqual(expect.stringMatching(/^webgpu: no adapter found .*libvulkan1.*NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/));
  });

  onLinux('explicit webgpu: a software adapter is refused unless webgpu_allow_software, then used', async () => {
    const script: Script = { vulkan: undefined, opengles: LLVMPIPE };
    const refused = initBackend('webgpu', { requireModule: standIns(script, []) });
    await expect(refused).rejects.toThrow(PtflowError);
    await expect(refused).rejects.toThrow(/only a software adapter was found: llvmpipe.*set backend: webgpu and webgpu_allow_software: true/);
    await expect(refused).rejects.toMatchObject({ exitCode: 2 });
    const info = await initBackend('webgpu', { webgpuAllowSoftware: true, requireModule: standIns(script, []) });
    expect(info).toMatchObject({ name: 'webgpu', adapterWhy: 'software adapter, allowed by webgpu_allow_software' });
    expect(info.adapter).toMatch(/^llvmpipe/);
  });

  onLinux('explicit webgpu: a GPU over Vulkan is preferred to a software adapter', async () => {
    const log: string[] = [];
    const info = await initBackend('webgpu', { webgpuAllowSoftware: true, requireModule: standIns({ vulkan: GPU, opengles: LLVMPIPE }, log) });
    expect(info.adapter).toBe('NVIDIA GeForce RTX 4090 / NVIDIA: 550.54 (nvidia, vulkan)');
    expect(log).not.toContain('adapter?opengles');
  });

  test('explicit webgpu without the package or without an adapter: a usage error saying what to do', async () => {
    await expect(initBackend('webgpu', { requireModule: standIns({ dawnMissing: true }, []) })).rejects.toThrow(
      /backend 'webgpu': not available .*npm install webgpu/,
    );
    await expect(initBackend('webgpu', { requireModule: standIns({}, []) })).rejects.toThrow(/backend 'webgpu': no adapter found/);
  });
});
