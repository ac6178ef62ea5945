// The worker's Prometheus endpoint (controller.metrics, docs/metrics.md): the SDK's exporter serves
// GET /metrics with its own `temporal_*` series and ours (contract/metrics.ts).
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { Registry } from '../config/registry.ts';
import { histogramBuckets } from '../contract/metrics.ts';

/** Where /metrics is served: the registry's address, or the pod's (the rendered Deployment sets it). */
export const metricsListen = (registry: Registry, env: NodeJS.ProcessEnv): string | undefined =>
  registry.controller.metrics && (env.BRANCH_FOLLOWER_METRICS_LISTEN ?? registry.controller.metrics.listen);

/** Installs the SDK's Runtime, with the Prometheus exporter when the registry asks for metrics. */
export function installRuntime(registry: Registry, env: NodeJS.ProcessEnv, options: RuntimeOptions): void {
  const bindAddress = metricsListen(registry, env);
  if (!bindAddress) return void Runtime.install(options);
  try {
    Runtime.install({
      ...options,
      telemetryOptions: { metrics: { prometheus: { bindAddress, histogramBucketOverrides: histogramBuckets() } } },
    });
  } catch (err) {
    const from = env.BRANCH_FOLLOWER_METRICS_LISTEN
      ? 'BRANCH_FOLLOWER_METRICS_LISTEN'
      : `controller.metrics.listen in ${registry.file}`;
    throw new Error(
      `cannot serve metrics at ${bindAddress} (${from}): ${(err as Error).message}; choose a free port there`,
    );
  }
}
