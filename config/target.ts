// Which Temporal server, namespace and task queue the worker and the CLI use: the registry's
// controller.temporal, with the documented environment overrides applied.
import type { Registry } from './registry.ts';
import { TEMPORAL_NAME } from './schema.ts';

export interface TemporalTarget {
  address: string;
  /** Where the address came from, for messages: the environment variable or the registry's key. */
  addressFrom: string;
  namespace: string;
  /** Where the namespace came from, likewise (or `-n` on the CLI). */
  namespaceFrom: string;
  taskQueue: string;
}

/** An override in the environment that cannot be used: which variable, and why. */
export class TargetError extends Error {}

export function temporalTarget(registry: Registry, env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const t = registry.controller.temporal;
  /** Where a value came from: the variable when it is set, else the registry's key. */
  const from = (variable: string, key: keyof typeof t) =>
    env[variable] ? variable : `controller.temporal.${key} in ${registry.file}`;
  return {
    address: env.BRANCH_FOLLOWER_TEMPORAL_ADDRESS || t.address,
    addressFrom: from('BRANCH_FOLLOWER_TEMPORAL_ADDRESS', 'address'),
    namespace: plainName('BRANCH_FOLLOWER_TEMPORAL_NAMESPACE', env.BRANCH_FOLLOWER_TEMPORAL_NAMESPACE) ?? t.namespace,
    namespaceFrom: from('BRANCH_FOLLOWER_TEMPORAL_NAMESPACE', 'namespace'),
    taskQueue: plainName('BRANCH_FOLLOWER_TASK_QUEUE', env.BRANCH_FOLLOWER_TASK_QUEUE) ?? t.taskQueue,
  };
}

/** An override from the environment obeys the registry's rule for the same name. */
function plainName(variable: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (!TEMPORAL_NAME.test(value))
    throw new TargetError(
      `${variable}=${JSON.stringify(value)} is not a plain name: use letters, digits, ".", "_" and "-"`,
    );
  return value;
}
