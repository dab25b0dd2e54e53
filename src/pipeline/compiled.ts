/**
 * Worker threads load compiled JavaScript, never TypeScript: this maps a module path relative to the
 * package root (e.g. `actors/TokenizerActor`) to its compiled file in `dist/`, whether the caller runs
 * from `dist/` (the CLI) or from sources under a test runner.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { PtflowError } from '../errors';

let root: string | null = null;

export function packageRoot(): string {
  if (root) return root;
  let dir = __dirname;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && path.basename(dir) !== 'dist') return (root = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the ptflow package root above ${__dirname}`);
    dir = up;
  }
}

export function compiledModule(relFromRoot: string): string {
  const file = path.join(packageRoot(), 'dist', `${relFromRoot}.js`);
  if (!existsSync(file)) {
    throw new PtflowError(`compiled module ${file} is missing: run \`npm run build\` first`);
  }
  return file;
}
