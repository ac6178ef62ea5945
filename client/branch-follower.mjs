#!/usr/bin/env node
// The `branch-follower` command: runs the compiled CLI (dist/cli), compiling it first when it is
// missing or older than a source it was built from, and exits with its code.
import { pathToFileURL } from 'node:url';
import { freshCli } from '../scripts/build.mjs';

const { main } = await import(pathToFileURL(await freshCli()).href);
process.exitCode = await main(process.argv.slice(2));
