/**
 * ptflow's own keys: the TensorFlow.js backend, the worker pool, the data-flow budget, how bad
 * records and non-finite steps are handled, and the telemetry tap.
 */
import { atLeast, atMost, bool, bytes, int, oneOf, optInt, optStr, str } from './fields';
import { pipelineField } from './schema-pipeline';

export const ptflowFields = {
  backend: oneOf(
    ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const,
    'auto',
    'TensorFlow.js backend: auto picks tensorflow (tfjs-node-gpu / tfjs-node, if installed), then webgpu (a real GPU ' +
      'adapter found by Dawn; never a software one), then wasm, then cpu. `npx ptflow doctor` shows what is found.',
  ),
  webgpu_allow_software: bool(
    false,
    'Let backend: webgpu run on a software adapter (e.g. Mesa llvmpipe) when no GPU is found; slower than wasm, ' +
      'useful to test the webgpu code path. Never used by backend: auto.',
  ),
  num_threads: optInt('Threads for the wasm / tensorflow backend and the native kernels; null = the cores, shared among the MPI ranks on the same machine.', atLeast(1)),
  tokenizer_workers: optInt('Tokenizer worker threads; null = cores - 1 (at least 1).', atLeast(1)),
  prefetch_batches: int(
    4,
    'Flow-control credit: batches the data pipeline may prepare ahead of the trainer.',
    atLeast(1),
  ),
  prefetch_bytes: bytes(
    256 * 1024 * 1024,
    'Flow-control budget: bytes of prepared data allowed in flight (e.g. 268435456 or "256MiB").',
    atLeast(1024),
  ),
  on_bad_record: oneOf(
    ['error', 'skip'] as const,
    'error',
    'A record that cannot be read (bad JSON, invalid UTF-8, missing or non-string text, an unparsable CSV ' +
      'row, a corrupt .gz/.zst): stop with an error naming file and line, or skip it, count it in ' +
      'pipeline_stats.json and warn once at the end.',
  ),
  skip_nonfinite_steps: bool(
    false,
    'When the loss or gradient norm is NaN/inf, skip that optimizer step (counted and logged) instead of stopping.',
  ),
  tap_port: optInt('Port of the telemetry WebSocket tap; null = no tap; 0 = any free port.', atLeast(0), atMost(65535)),
  tap_host: str('127.0.0.1', 'Address the telemetry tap binds to.'),
  tap_token: optStr(
    'Token a tap client must present (or set PTFLOW_TAP_TOKEN); null = none, allowed only on a loopback tap_host.',
  ),
  tap_max_clients: int(32, 'Clients the telemetry tap serves at once; more are refused (HTTP 503).', atLeast(1)),
  tap_history: int(
    2000,
    'Events the tap keeps for clients that join late: this many of the newest, and per curve (loss, eval, ' +
      'per-actor counters, memory) this many points covering the whole run, older ones thinned.',
    atLeast(4),
  ),
  pipeline: pipelineField,
};
