// `npm run worker`: runs a follower worker against the Temporal cluster named in the registry.
// SIGTERM or SIGINT shuts it down gracefully: in-flight activities get the YAML grace time.
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ConfigError, DEFAULT_REGISTRY, loadRegistry } from '../config/registry.ts';
import { createFollowerWorker, temporalTarget } from './worker.ts';

async function main(): Promise<void> {
  const registryFile = process.env.BRANCH_FOLLOWER_REGISTRY ?? process.argv[2] ?? DEFAULT_REGISTRY;
  const registry = loadRegistry(registryFile);
  const target = temporalTarget(registry);
  Runtime.install({ shutdownSignals: ['SIGTERM', 'SIGINT'], logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: target.address });
  // A bundle prebuilt with bundleWorkflowCode (an image build step, the tests) skips bundling at start.
  const bundlePath = process.env.BRANCH_FOLLOWER_WORKFLOW_BUNDLE;
  const worker = await createFollowerWorker({ registry, connection, target, ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}) });
  console.log(`worker: polling ${target.taskQueue} on ${target.address} (namespace ${target.namespace}); registry ${registryFile}`);
  try {
    await worker.run();
  } finally {
    await connection.close();
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? `invalid registry:\n${err.message}` : `worker: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
