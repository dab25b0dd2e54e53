// The native addon is optional: whatever it does, initBackend must still come up.
let mockNative: () => unknown = () => ({ registerNativeKernels: () => ({ active: true, isa: 'test-isa' }) });
jest.mock('./native', () => mockNative());

import { initBackend, shutdownBackend } from './backend';

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
});
