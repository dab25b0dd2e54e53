/**
 * `ptflow` command line. `ptflow train cfg.yaml [key=value …]` runs LLaMA-Factory's pre-training
 * workflow; errors a user can fix print one clear message and exit 2 (usage) or 1 (runtime).
 */
import { Command, CommanderError } from 'commander';
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

  return program;
}

export async function main(argv: string[]): Promise<void> {
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
