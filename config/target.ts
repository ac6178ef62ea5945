// Which Temporal server, namespace and task queue the worker and the CLI use: the registry's
// controller.temporal, with the documented environment overrides applied.
import type { Registry } from './registry.ts';

export interface TemporalTarget {
  address: string;
  namespace: string;
  taskQueue: string;
}

export function temporalTarget(registry: Registry, env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const t = registry.controller.temporal;
  return {
    address: env.BRANCH_FOLLOWER_TEMPORAL_ADDRESS || t.address,
    namespace: env.BRANCH_FOLLOWER_TEMPORAL_NAMESPACE || t.namespace,
    taskQueue: env.BRANCH_FOLLOWER_TASK_QUEUE || t.taskQueue,
  };
}
