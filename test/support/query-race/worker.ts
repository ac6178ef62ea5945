// A worker process for test/e2e/query-race.test.ts: `worker.ts <address> <taskQueue> <guarded|bare>`.
// Prints `polling` once it polls and `record <line>` for each local activity it runs.
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../../worker/worker.ts';

const [address, taskQueue, mode] = process.argv.slice(2);
Runtime.install({ logger: new DefaultLogger('WARN') });
const worker = await Worker.create({
  connection: await NativeConnection.connect({ address: address! }),
  taskQueue: taskQueue!,
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
  ...(mode === 'guarded' ? { interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } } : {}),
  stickyQueueScheduleToStartTimeout: '10s',
  activities: {
    async record(line: string) {
      console.log(`record ${line}`);
    },
  },
});
console.log('polling');
await worker.run();
