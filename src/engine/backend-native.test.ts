// The native addon is optional: whatever it does, initBackend must still come up.
let mockNative: () => unknown = () => ({ registerNativeKernels: () => ({ active: true, isa: 'test-isa' }) });
jest.mock('./native', () => mockNative());

import * as os from 'os';
import { defaultThreads, initBackend, shutdownBackend } from './backend';

describe('initBackend with the native addon', () => {
  const saved = process.env['PTFLOW_NATIVE'];
  beforeEach(() => {
    delete process.env['PTFLOW_NATIVE'];
    jest.resetModules();
  });
  afterEach(async () => {
    await shutdownBackend();
    if (saved !== undefined) process.env['PTFLOW_NATIVE'] = saved;
  });

  test('reports what the addon registered', async () => {
    const info = await initBackend('cpu');
    expect(info.native).toEqual({ active: true, isa: 'test-isa' });
    expect(info.notes).toContain('native kernels: active (test-isa)');
  });

  test('an addon that fails to load is a note, not an error', async () => {
    mockNative = () => {
      throw new Error('addon exploded');
    };
    const info = await initBackend('cpu');
    expect(info.name).toBe('cpu');
    expect(info.native).toMatchObject({ active: false, reason: 'addon exploded' });
  });

  test('an addon whose registration throws is a note, not an error', async () => {
    mockNative = () => ({
      registerNativeKernels: () => {
        throw new Error('no cpu features');
      },
    });
    const info = await initBackend('cpu');
    expect(info.native).toMatchObject({ active: false, reason: 'no cpu features' });
  });

  test('an inactive addon passes its reason on', async () => {
    mockNative = () => ({ registerNativeKernels: () => ({ active: false, reason: 'not built' }) });
    const info = await initBackend('cpu');
    expect(info.notes).toContain('native kernels: inactive (not built)');
  });

  test('the native pool gets the threads the backend was given, unless PTFLOW_NATIVE_THREADS is set', async () => {
    const calls: number[] = [];
    mockNative = () => ({ registerNativeKernels: () => ({ active: true }), setNativeThreads: (n: number) => calls.push(n) });
    await initBackend('cpu', { threads: 3 });
    expect(calls).toEqual([3]);
    await shutdownBackend();
    process.env['PTFLOW_NATIVE_THREADS'] = '5';
    try {
      await initBackend('cpu', { threads: 3 });
    } finally {
      delete process.env['PTFLOW_NATIVE_THREADS'];
    }
    expect(calls).toEqual([3]);
  });
});

describe('defaultThreads', () => {
  const cores = os.availableParallelism();
  test('all cores for one process, the cores shared among the MPI ranks on this machine', () => {
    expect(defaultThreads({})).toBe(cores);
    expect(defaultThreads({ MPI_LOCALNRANKS: '1' })).toBe(cores);
    expect(defaultThreads({ MPI_LOCALNRANKS: '2' })).toBe(Math.max(1, Math.floor(cores / 2)));
    expect(defaultThreads({ OMPI_COMM_WORLD_LOCAL_SIZE: String(cores * 4) })).toBe(1);
    expect(defaultThreads({ MPI_LOCALNRANKS: 'x' })).toBe(cores);
  });
});
