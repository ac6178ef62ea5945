// `npm run worker`: runs a follower worker against the Temporal cluster named in the registry.
// SIGTERM or SIGINT shuts it down gracefully: in-flight activities get the YAML grace time.
import { NativeConnection } from '@temporalio/worker';
import { workerKubeAccess } from '../activities/kube/access.ts';
import { ConfigError, DEFAULT_REGISTRY, loadRegistry } from '../config/registry.ts';
import { temporalSecurity } from './connection.ts';
import { serveHealth } from './health.ts';
import { sdkLogger, workerLog } from './log.ts';
import { installRuntime, metricsListen } from './metrics.ts';
import { temporalTarget } from '../config/target.ts';
import { serveWebhooksConnected, webhooksListen } from './receiver.ts';
import { createFollowerWorker } from './worker.ts';

const log = workerLog();

async function main(): Promise<void> {
  const registryFile = process.env.BRANCH_FOLLOWER_REGISTRY ?? process.argv[2] ?? DEFAULT_REGISTRY;
  const registry = loadRegistry(registryFile);
  const target = temporalTarget(registry);
  installRuntime(registry, process.env, { shutdownSignals: ['SIGTERM', 'SIGINT'], logger: sdkLogger(log) });
  const connection = await NativeConnection.connect({ address: target.address, ...temporalSecurity(registry) });
  const kube = workerKubeAccess(process.env);
  // A bundle prebuilt with bundleWorkflowCode (an image build step, the tests) skips bundling at start.
  const bundlePath = process.env.BRANCH_FOLLOWER_WORKFLOW_BUNDLE;
  const worker = await createFollowerWorker({
    registry,
    connection,
    target,
    kube,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
  });
  // Set by the rendered Deployment (controller.kubernetes.deployment.healthPort).
  const health = process.env.BRANCH_FOLLOWER_HEALTH_LISTEN
    ? serveHealth(process.env.BRANCH_FOLLOWER_HEALTH_LISTEN, worker)
    : undefined;
  const webhooks = registry.controller.webhooks;
  const receiver = await serveWebhooksConnected({
    registry,
    connect: { address: target.address, ...temporalSecurity(registry) },
    namespace: target.namespace,
    env: process.env,
    log: (line) => log('info', line),
  });
  if (webhooks)
    log(
      'info',
      `webhooks: listening on ${webhooksListen(registry, process.env)} for ${Object.keys(webhooks.sources).join(', ')}`,
    );
  const metrics = metricsListen(registry, process.env);
  if (metrics) log('info', `metrics: serving http://${metrics}/metrics`);
  log(
    'info',
    `worker: polling ${target.taskQueue} on ${target.address} (namespace ${target.namespace}); registry ${registryFile}; kubernetes: ${kube?.source ?? 'none'}`,
    { taskQueue: target.taskQueue, address: target.address, namespace: target.namespace },
  );
  try {
    await worker.run();
  } finally {
    health?.close();
    await receiver?.close();
    await connection.close();
  }
}

main().catch((err) => {
  log(
    'error',
    err instanceof ConfigError
      ? `invalid registry:\n${err.message}`
      : `worker: ${err instanceof Error ? err.message : err}`,
  );
  process.exit(1);
});
