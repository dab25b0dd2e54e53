/**
 * The telemetry tap end to end through the real CLI: `ptflow train` with `tap_port: 0` prints its
 * address before any work, `ptflow tap` follows the run from another process and exits 0 when it
 * completes; a port in use or an open address without a token stops the command before any work.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { TelemetryEvent } from '../schemas/telemetry';
import { CLI, runCli, tinyDataset, tinyModelDir, tmpDir, writeYaml } from './helpers';

const TOKEN = 'tap-e2e-token';

describe('telemetry tap (end to end)', () => {
  const dir = tmpDir('ptflow-tap-e2e-');
  const model = tinyModelDir(dir);
  const data = tinyDataset(dir, 16);
  const base = {
    model_name_or_path: model, train_from_scratch: true, stage: 'pt', do_train: true, finetuning_type: 'full',
    dataset: 'kjv', dataset_dir: data, cutoff_len: 32, val_size: 2, per_device_train_batch_size: 2, per_device_eval_batch_size: 2,
    learning_rate: 0.01, max_steps: 8, logging_steps: 2, eval_strategy: 'no', save_strategy: 'no', seed: 3, tokenizer_workers: 1,
  };

  it('ptflow train prints the tap address first; ptflow tap follows the run and exits 0 when it completes', async () => {
    const cfg = writeYaml(path.join(dir, 'train.yaml'), { ...base, output_dir: path.join(dir, 'out'), tap_port: 0 });
    const train = spawn(process.execPath, [CLI, 'train', cfg], { env: { ...process.env, PTFLOW_TAP_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const address = await new Promise<string>((resolve, reject) => {
      train.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        const m = /telemetry tap: (ws:\/\/127\.0\.0\.1:\d+)\/events/.exec(stderr);
        if (m) resolve(m[1]);
      });
      train.on('close', (code) => reject(new Error(`train exited ${code} before printing the tap address:\n${stderr}`)));
    });
    // The address comes before any work: nothing else has been printed yet.
    expect(stderr.slice(0, stderr.indexOf('telemetry tap:')).trim()).toBe('');

    const client = (args: string[]) => runCli(['tap', address, ...args], { timeoutMs: 120_000 });
    const [json, readable, refused] = await Promise.all([
      client(['--token', TOKEN, '--json']),
      client(['--token', TOKEN, '--types', 'train.step']),
      client(['--token', 'wrong']),
    ]);
    const trainCode = await new Promise<number | null>((r) => (train.exitCode !== null ? r(train.exitCode) : train.on('close', r)));
    if (trainCode !== 0) throw new Error(`train exit ${trainCode}\n${stderr}`);

    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refused the connection \(401: wrong or missing --token\)/);

    if (json.code !== 0) throw new Error(`ptflow tap --json exit ${json.code}\n${json.stderr}`);
    const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as TelemetryEvent);
    const hello = events[0] as TelemetryEvent<'tap.hello'>;
    expect(hello.type).toBe('tap.hello');
    // Tied embedding 32000·16 + one layer (q 16·16, k/v 8·16 each, o 16·16, mlp 3·16·32, 2 norms) + final norm.
    expect(hello.data.model_parameters).toBe(32000 * 16 + 256 + 128 + 128 + 256 + 1536 + 32 + 16);
    expect(hello.data.config).toMatchObject({ max_steps: 8, model_name_or_path: model });
    expect(JSON.stringify(hello)).not.toContain(TOKEN);
    // The pipeline graph: in the first hello, or in the hello repeated once the pipeline is built.
    const graph = events.filter((e): e is TelemetryEvent<'tap.hello'> => e.type === 'tap.hello').map((e) => e.data.graph).find((g) => g !== null);
    // map mode: the data actor reads the run's own token cache
    expect(graph?.actors.map((a) => a.name)).toEqual(['CacheBlockActor', 'TrainerActor']);
    expect(graph?.edges).toContainEqual({ from: 'CacheBlockActor.train', to: 'TrainerActor.train', schema: 'TrainBatch', window: 4 });
    const steps = events.filter((e) => e.type === 'train.step').map((e) => e.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(events.every((e) => e.run_id === hello.run_id)).toBe(true);
    const stop = events[events.length - 1] as TelemetryEvent<'run.stop'>;
    expect(stop.type).toBe('run.stop');
    expect(stop.data.status).toBe('completed');

    if (readable.code !== 0) throw new Error(`ptflow tap exit ${readable.code}\n${readable.stderr}`);
    const lines = readable.stdout.trim().split('\n').filter((l) => l.startsWith('step '));
    expect(lines).toHaveLength(8);
    expect(lines[7]).toMatch(/^step 8\/8 · loss \d+\.\d{4} · lr \S+ · \d+ tok\/s · \d+ ms\/step · data wait \d+%$/);
  }, 300_000);

  it('refuses a port in use, naming it, before any work', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const out = path.join(dir, 'out-busy');
      const cfg = writeYaml(path.join(dir, 'busy.yaml'), { ...base, output_dir: out, tap_port: port });
      const r = await runCli(['train', cfg]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`tap_port ${port} on 127.0.0.1 is in use`);
      expect(existsSync(out)).toBe(false);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('refuses a non-loopback address without a token', async () => {
    const out = path.join(dir, 'out-open');
    const cfg = writeYaml(path.join(dir, 'open.yaml'), { ...base, output_dir: out, tap_port: 0, tap_host: '0.0.0.0' });
    const r = await runCli(['prepare', cfg, `tokenized_path=${path.join(dir, 'cache-open')}`], { env: { PTFLOW_TAP_TOKEN: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tap_host 0\.0\.0\.0 is not a loopback address and no tap_token is set/);
    expect(existsSync(path.join(dir, 'cache-open'))).toBe(false);
  }, 60_000);

  it('ptflow prepare starts the tap too', async () => {
    const cfg = writeYaml(path.join(dir, 'prep.yaml'), { ...base, output_dir: path.join(dir, 'out-prep'), tokenized_path: path.join(dir, 'cache'), tap_port: 0 });
    const r = await runCli(['prepare', cfg]);
    if (r.code !== 0) throw new Error(`exit ${r.code}\n${r.stderr}`);
    expect(r.stderr.split('\n')[0]).toMatch(/^telemetry tap: ws:\/\/127\.0\.0\.1:\d+\/events · dashboard http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(r.stderr).toMatch(/Tokenized cache .* complete/);
  }, 120_000);
});
