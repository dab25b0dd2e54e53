#!/usr/bin/env node
// Finds how to compile and link against the system's MPI, for binding.gyp and build.js:
// `mpicc -show` (MPICH), `mpicc --showme` (Open MPI), else pkg-config (mpich, ompi).
// PTFLOW_MPICC names another wrapper compiler. Prints nothing and exits 1 when MPI is not found.
//   node flags.js cflags   -> -I/-D flags
//   node flags.js libs     -> -L/-l/-Wl flags (plus an rpath for each -L directory outside /usr/lib, /lib)
//   node flags.js describe -> one line: where the flags came from
'use strict';
const { spawnSync } = require('child_process');

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 && !r.error ? r.stdout.trim() : undefined;
}

function probe() {
  const mpicc = process.env.PTFLOW_MPICC || 'mpicc';
  for (const flag of ['-show', '--showme']) {
    const out = run(mpicc, [flag]);
    if (out) {
      // The first word is the underlying compiler.
      const words = out.split(/\s+/);
      return { from: `${mpicc} ${flag}`, words: words[0].startsWith('-') ? words : words.slice(1) };
    }
  }
  for (const pkg of ['mpich', 'ompi']) {
    const out = run('pkg-config', ['--cflags', '--libs', pkg]);
    if (out) return { from: `pkg-config ${pkg}`, words: out.split(/\s+/) };
  }
  return undefined;
}

const found = probe();
if (!found) process.exit(1);
const words = found.words.filter(Boolean);
const what = process.argv[2];
if (what === 'cflags') {
  process.stdout.write(words.filter((w) => w.startsWith('-I') || w.startsWith('-D') || w === '-pthread').join(' '));
} else if (what === 'libs') {
  const libs = words.filter((w) => w.startsWith('-L') || w.startsWith('-l') || w.startsWith('-Wl,') || w === '-pthread');
  const rpaths = words
    .filter((w) => w.startsWith('-L') && !/^-L\/(usr\/)?lib(64)?(\/|$)/.test(w))
    .map((w) => `-Wl,-rpath,${w.slice(2)}`);
  process.stdout.write([...libs, ...rpaths].join(' '));
} else if (what === 'describe') {
  process.stdout.write(found.from);
} else {
  process.stderr.write('usage: node flags.js cflags|libs|describe\n');
  process.exit(2);
}
