// `npm run test:lts` (`tsx scripts/with-lts-node.ts <command…>`): runs a command with the
// supported Node LTS line first on PATH, provisioned into the per-user cache the first time. CI
// runs the suite on it as well as on the machine's Node, which the two README commands keep using.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensureLtsNode } from './tools.ts';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: tsx scripts/with-lts-node.ts <command> [args…]   e.g. npm test');
  process.exit(2);
}
const node = await ensureLtsNode((line) => console.error(`[lts node] ${line}`));
console.error(`[lts node] ${[command, ...args].join(' ')} with ${node}`);
const env = { ...process.env, PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH ?? ''}` };
const child = spawn(command, args, { env, stdio: 'inherit' });
child.on('close', (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
