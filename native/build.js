#!/usr/bin/env node
// Install step for the optional native addons, built with node-gyp against the headers of the
// running Node (no download, no network):
//  - native/build/Release/ptflow_native.node, the kernels (binding.gyp);
//  - native/mpi/build/Release/ptflow_mpi.node, the MPI transport for multi-process training
//    (mpi/binding.gyp), only when mpi/flags.js finds an MPI (mpicc or pkg-config).
// It never fails the install: on any problem it prints one line per addon and exits 0; ptflow
// then runs on the stock TensorFlow.js kernels, and in one process. PTFLOW_NATIVE_BUILD=0 skips
// both builds.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const here = __dirname;
const logFile = path.join(here, 'build', 'build.log');

function say(line) {
  process.stdout.write(`ptflow: ${line}\n`);
}

function findNodeGyp() {
  const candidates = [];
  // npm exports the path of its bundled node-gyp to lifecycle scripts.
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    // <npm>/bin/npm-cli.js -> <npm>/node_modules/node-gyp/bin/node-gyp.js
    candidates.push(path.resolve(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  try {
    candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [path.join(here, '..'), here] }));
  } catch {
    /* not a local dependency */
  }
  const prefix = path.resolve(process.execPath, '..', '..');
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(path.dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((p) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  });
}

function main() {
  if (process.env.PTFLOW_NATIVE_BUILD === '0') {
    say('native kernels not built (PTFLOW_NATIVE_BUILD=0); using stock TensorFlow.js kernels');
    return;
  }
  const nodedir = path.resolve(process.execPath, '..', '..');
  if (!fs.existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) {
    say(`native kernels not built (no Node headers under ${nodedir}/include/node); using stock TensorFlow.js kernels`);
    return;
  }
  const gyp = findNodeGyp();
  if (!gyp) {
    say('native kernels not built (node-gyp not found); using stock TensorFlow.js kernels');
    return;
  }
  buildKernels(gyp, nodedir);
  try {
    buildMpi(gyp, nodedir);
  } catch (e) {
    say(`MPI transport not built (${e && e.message}); training runs in one process only`);
  }
}

/** node-gyp rebuild in `dir`; the compiler output goes to `log`. */
function nodeGyp(gyp, nodedir, dir, log) {
  const result = spawnSync(process.execPath, [gyp, 'rebuild', '--release', `--nodedir=${nodedir}`], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, npm_config_nodedir: nodedir },
    maxBuffer: 64 * 1024 * 1024,
  });
  try {
    fs.mkdirSync(path.dirname(log), { recursive: true });
    fs.writeFileSync(log, `${result.stdout || ''}\n${result.stderr || ''}`);
  } catch {
    /* the log is a convenience */
  }
  return result;
}

function buildKernels(gyp, nodedir) {
  const started = Date.now();
  const result = nodeGyp(gyp, nodedir, here, logFile);
  const built = path.join(here, 'build', 'Release', 'ptflow_native.node');
  if (result.status !== 0 || !fs.existsSync(built)) {
    const why = result.error ? result.error.message : `node-gyp exited with ${result.status}`;
    say(`native kernels not built (${why}; see native/build/build.log); using stock TensorFlow.js kernels`);
    return;
  }
  try {
    const addon = require(built);
    const info = addon.info();
    say(`native kernels built in ${((Date.now() - started) / 1000).toFixed(1)} s (${info.isa}, ${info.threads} threads)`);
  } catch (e) {
    say(`native kernels built but do not load (${e && e.message}); using stock TensorFlow.js kernels`);
  }
}

function buildMpi(gyp, nodedir) {
  const mpiDir = path.join(here, 'mpi');
  const mpiLog = path.join(mpiDir, 'build', 'build.log');
  const install = 'multi-process training needs it: apt-get install mpich libmpich-dev, then node native/build.js';
  const probe = spawnSync(process.execPath, [path.join(mpiDir, 'flags.js'), 'describe'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    say(`MPI transport not built (no MPI found: no mpicc, no pkg-config mpich/ompi; ${install})`);
    return;
  }
  const started = Date.now();
  const result = nodeGyp(gyp, nodedir, mpiDir, mpiLog);
  const built = path.join(mpiDir, 'build', 'Release', 'ptflow_mpi.node');
  if (result.status !== 0 || !fs.existsSync(built)) {
    const why = result.error ? result.error.message : `node-gyp exited with ${result.status}`;
    say(`MPI transport not built (${why}; see native/mpi/build/build.log); training runs in one process only`);
    return;
  }
  try {
    const addon = require(built);
    if (typeof addon.allreduce !== 'function') throw new Error('not the ptflow MPI addon');
    say(`MPI transport built in ${((Date.now() - started) / 1000).toFixed(1)} s (${probe.stdout.trim()})`);
  } catch (e) {
    say(`MPI transport built but does not load (${e && e.message}); training runs in one process only`);
  }
}

try {
  main();
} catch (e) {
  say(`native kernels not built (${e && e.message}); using stock TensorFlow.js kernels`);
}
process.exitCode = 0;
