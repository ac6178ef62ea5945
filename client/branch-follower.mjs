#!/usr/bin/env node
// The `branch-follower` command: runs the compiled CLI (dist/cli-<hash>, named by dist/cli.json),
// compiling it first when there is none or a file it was built from has changed, and exits with its code.
import module from 'node:module';
import { pathToFileURL } from 'node:url';
import { freshCli } from '../scripts/build.mjs';

// Node 22.1+ keeps the compiled bytecode of the bundle on disk between runs (absent on Node 20).
module.enableCompileCache?.();
const { main } = await import(pathToFileURL(await freshCli()).href);
process.exitCode = await main(process.argv.slice(2));
