#!/usr/bin/env node
'use strict';
// Thin launcher: the CLI is compiled TypeScript (npm ci runs the build via `prepare`).
require('../dist/src/cli/main.js').main(process.argv.slice(2));
