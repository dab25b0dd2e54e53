/**
 * `ptflow` command line. `ptflow train cfg.yaml [key=value …]` runs LLaMA-Factory's pre-training
 * workflow; `ptflow prepare cfg.yaml [--rank R --world-size W]` builds the tokenized cache it can reuse;
 * `ptflow tap ws://HOST:PORT` follows a running command's telemetry tap; `ptflow doctor` lists backends and GPU
 * adapters; errors a user can fix print one clear message and exit 2 (usage) or 1 (runtime).
 */
import { Command, CommanderError } from 'commander';
import { prepareEglPlatform } from '../engine/webgpu/egl-env';
import { PtflowError } from '../errors';

const VERSION: string = (require('../../../package.json') as { version: string }).version;

function buildProgram(): Command {
  const program = new Command();
  program
    .name('ptflow')
    .description(
      'Pre-train causal language models (Llama architecture) as a dataflow of actors.\n' +
        'Configs use LLaMA-Factory keys (stage: pt); outputs use the Hugging Face layout.',
    )
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('train')
    .description('Pre-train (or continue pre-training) a model as the config says; evaluate; write HF-layout outputs.')
    .argument('<config>', 'YAML config file (LLaMA-Factory keys, stage: pt)')
    .argument('[overrides...]', 'key=value pairs that override the file, e.g. max_steps=10 learning_rate=1e-4')
    .addHelpText('after', () => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { configHelpText } = require('../config') as { configHelpText: () => string };
      return '\n' + configHelpText();
    })
    .action(async (config: string, overrides: string[]) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runTrainCommand } = require('../workflow/train') as typeof import('../workflow/train');
      process.exitCode = await runTrainCommand(config, overrides);
    });

  program
    .command('prepare')
    .description(
      'Tokenize the configured datasets once into a reusable cache at tokenized_path (Arrow files + index.json); ' +
        '`ptflow train` with the same settings reads it instead of re-tokenizing.',
    )
    .argument('<config>', 'the same YAML config as for train (tokenized_path must be set)')
    .argument('[overrides...]', 'key=value pairs that override the file')
    .option('--rank <r>', 'this process prepares slice r (0-based) of the corpus')
    .option('--world-size <w>', 'number of slices (processes); default from SLURM_ARRAY_TASK_COUNT or PTFLOW_WORLD_SIZE')
    .option('--merge', 'only join the finished slices into index.json')
    .addHelpText(
      'after',
      '\nWithout --rank, the rank comes from a Slurm array job (SLURM_ARRAY_TASK_ID), a Kubernetes indexed Job\n' +
        '(JOB_COMPLETION_INDEX, with --world-size or PTFLOW_WORLD_SIZE) or PTFLOW_RANK; otherwise rank 0 of 1.\n' +
        'The last rank to finish writes index.json; `--merge` does it explicitly.',
    )
    .action(async (config: string, overrides: string[], flags: { rank?: string; worldSize?: string; merge?: boolean }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runPrepareCommand } = require('../workflow/prepare') as typeof import('../workflow/prepare');
      process.exitCode = await runPrepareCommand(config, overrides, flags);
    });

  program
    .command('doctor')
    .description(
      'Show what this machine offers the trainer: backend packages, WebGPU adapters (GPU or software), ' +
        'native kernels, threads, and what backend: auto picks.',
    )
    .option('--json', 'print the report as JSON')
    .action(async (flags: { json?: boolean }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runDoctorCommand } = require('../workflow/doctor') as typeof import('../workflow/doctor');
      process.exitCode = await runDoctorCommand(flags);
    });

  program
    .command('tap')
    .description('Follow the telemetry tap of a running `ptflow train` / `ptflow prepare` (tap_port in its config).')
    .argument('<address>', 'the tap\'s address as the run printed it, e.g. ws://127.0.0.1:8765')
    .option('--token <token>', 'the run\'s tap_token (default: PTFLOW_TAP_TOKEN)')
    .option('--json', 'print every event as one JSON line instead of readable lines')
    .option('--types <globs>', 'only these event types, comma-separated globs, e.g. train.step,eval.*')
    .addHelpText(
      'after',
      '\nReconnects (with backoff) while the run is unreachable, e.g. restarting after an interruption.\n' +
        'Exit status: 0 when the run completes, 1 when it fails, 2 when the tap refuses the token.',
    )
    .action(async (address: string, flags: { token?: string; json?: boolean; types?: string }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runTapClient } = require('./tap-client') as typeof import('./tap-client');
      const token = flags.token ?? (process.env.PTFLOW_TAP_TOKEN || undefined);
      process.exitCode = await runTapClient(address, { token, json: flags.json, types: flags.types });
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  // `ptflow train --help | head`: a closed pipe is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  // Before any worker starts: Dawn's OpenGL ES path needs it in the process environment.
  prepareEglPlatform();
  const program = buildProgram();
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return;
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help / --version exit 0; usage mistakes exit 2.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    if (err instanceof PtflowError) {
      process.stderr.write(`ptflow: error: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`ptflow: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
