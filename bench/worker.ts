// The benchmark's worker process: the production worker (worker/worker.ts) with its mirror reads
// instrumented. Each read's lag — how long after the workflow meant it to start it started — is
// appended to $BENCH_SAMPLES as "<wall-clock ms> <lag ms> <kind>" lines, once a second.
import { appendFileSync } from 'node:fs';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { loadRegistry } from '../config/registry.ts';
import { temporalTarget } from '../config/target.ts';
import { serveWebhooksConnected } from '../worker/receiver.ts';
import { createFollowerWorker } from '../worker/worker.ts';

const registry = loadRegistry(process.argv[2]!);
const samplesFile = process.env.BENCH_SAMPLES!;
const target = temporalTarget(registry);
Runtime.install({ shutdownSignals: ['SIGTERM', 'SIGINT'], logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address: target.address });
let pending: string[] = [];
const record = (dueAt: number | undefined, kind: string): void => {
  const now = Date.now();
  if (dueAt !== undefined) pending.push(`${now} ${now - dueAt} ${kind}`);
};
const flush = setInterval(() => {
  if (!pending.length) return;
  appendFileSync(samplesFile, `${pending.join('\n')}\n`);
  pending = [];
}, 1000);
const worker = await createFollowerWorker({
  registry,
  connection,
  target,
  workflowBundle: { codePath: process.env.BRANCH_FOLLOWER_WORKFLOW_BUNDLE! },
  instrument: (a) => ({
    ...a,
    observeBranch: (input) => (record(input.dueAt, 'follower'), a.observeBranch(input)),
    readBranchHeads: (input) => (record(input.dueAt, 'watcher'), a.readBranchHeads(input)),
  }),
});
// Push webhooks, served as worker/main.ts serves them, when the fleet declares them.
const receiver = await serveWebhooksConnected({
  registry,
  connect: { address: target.address },
  namespace: target.namespace,
  env: process.env,
  log: () => {},
});
console.log('bench worker ready');
await worker.run();
clearInterval(flush);
await receiver?.close();
await connection.close();
