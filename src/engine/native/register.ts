/**
 * Puts the native GEMM under TensorFlow.js: `registerNativeKernels('wasm' | 'cpu')` replaces
 * the backend's `BatchMatMul` and `_FusedMatMul` with native ones (gradients follow, since
 * tfjs differentiates by kernel name), keeping the stock kernel configs to fall back to and to
 * restore (`restoreStockKernels`). Idempotent; never throws for a missing addon.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import { loadNativeAddon } from './addon';
import { cpuAdapter } from './backend-cpu';
import { wasmAdapter } from './backend-wasm';
import { type BackendAdapter, makeMatMulKernels } from './kernels';

export type NativeBackendName = 'wasm' | 'cpu';

export interface NativeRegistration {
  active: boolean;
  reason?: string;
  /** Instruction-set path in use ('avx512', 'avx2', 'generic'). */
  isa?: string;
}

const KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;
type KernelName = (typeof KERNELS)[number];

const ADAPTERS: Record<NativeBackendName, BackendAdapter> = { wasm: wasmAdapter, cpu: cpuAdapter };

/** Stock configs replaced per backend, and the native kernel functions installed. */
const replaced = new Map<NativeBackendName, Map<KernelName, KernelConfig | undefined>>();
const installed = new Map<NativeBackendName, Set<KernelFunc>>();

export function registerNativeKernels(backendName: NativeBackendName): NativeRegistration {
  if (backendName !== 'wasm' && backendName !== 'cpu') {
    return { active: false, reason: `no native kernels for backend '${String(backendName)}'` };
  }
  const load = loadNativeAddon();
  if (!load.ok) return { active: false, reason: load.reason };
  const isa = load.addon.info().isa;
  const mine = installed.get(backendName);
  if (mine !== undefined && KERNELS.every((k) => mine.has(tf.getKernel(k, backendName)?.kernelFunc as KernelFunc))) {
    return { active: true, isa };
  }
  const stock = new Map<KernelName, KernelConfig | undefined>();
  for (const k of KERNELS) stock.set(k, tf.getKernel(k, backendName));
  if (stock.get('BatchMatMul') === undefined) {
    return {
      active: false,
      reason: `backend '${backendName}' has no BatchMatMul kernel registered (import @tensorflow/tfjs-backend-${backendName} first)`,
    };
  }
  const fns = makeMatMulKernels(ADAPTERS[backendName], load.addon, {
    batchMatMul: stock.get('BatchMatMul')?.kernelFunc,
    fusedMatMul: stock.get('_FusedMatMul')?.kernelFunc,
  });
  const funcs: Record<KernelName, KernelFunc> = { BatchMatMul: fns.batchMatMul, _FusedMatMul: fns.fusedMatMul };
  for (const k of KERNELS) {
    const old = stock.get(k);
    if (old !== undefined) tf.unregisterKernel(k, backendName);
    tf.registerKernel({
      kernelName: k,
      backendName,
      kernelFunc: funcs[k],
      // The stock setup (wasm: binds its C function) must still run for the fallback.
      ...(old?.setupFunc !== undefined ? { setupFunc: old.setupFunc } : {}),
      ...(old?.disposeFunc !== undefined ? { disposeFunc: old.disposeFunc } : {}),
    });
  }
  replaced.set(backendName, stock);
  installed.set(backendName, new Set(Object.values(funcs)));
  return { active: true, isa };
}

/** Puts the stock kernels back (benchmarks measure them in the same run). */
export function restoreStockKernels(backendName: NativeBackendName): void {
  const stock = replaced.get(backendName);
  if (stock === undefined) return;
  for (const k of KERNELS) {
    if (tf.getKernel(k, backendName) !== undefined) tf.unregisterKernel(k, backendName);
    const config = stock.get(k);
    if (config !== undefined) tf.registerKernel(config);
  }
  replaced.delete(backendName);
  installed.delete(backendName);
}

/** Whether `backendName`'s matmul kernels are currently native. */
export function isNativeBackend(backendName: string): boolean {
  return installed.has(backendName as NativeBackendName);
}

/** Backends whose kernels are currently native. */
export function nativeBackends(): NativeBackendName[] {
  return [...installed.keys()];
}
