#!/usr/bin/env node
// The `branch-follower` command: loads the TypeScript CLI through tsx and exits with its code.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
process.exitCode = await main(process.argv.slice(2));
