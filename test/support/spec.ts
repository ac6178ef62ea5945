// A resolved FollowerSpec for unit tests of the pure reducer (no registry file involved).
import type { CommandAdapterSpec, FollowerSpec } from '../../contract/spec.ts';

export type CommandFollowerSpec = FollowerSpec & { adapter: CommandAdapterSpec };

export function makeSpec(over: Partial<CommandFollowerSpec> = {}): CommandFollowerSpec {
  return {
    id: 'demo',
    source: { mirror: 'git://127.0.0.1:9418/demo.git', branch: 'main' },
    target: { configRef: 'lanes.yaml', params: {} },
    adapter: {
      id: 'demo-adapter',
      kind: 'command',
      timeoutMs: 1000,
      maxOutputBytes: 4096,
      env: [],
      status: { argv: ['status'] },
      trigger: { argv: ['trigger'] },
      cancel: { argv: ['cancel', '{jobId}'] },
    },
    pollIntervalMs: 10_000,
    observeTimeoutMs: 5000,
    closeout: {
      check: 'ready',
      kind: 'adapter-status',
      budgetMs: 120_000,
      budgetSource: { path: 'defaults.closeout.budget', file: 'registry.yaml', line: 7 },
      pollIntervalMs: 2000,
    },
    retry: { maxAttempts: 3, initialBackoffMs: 5000, backoffCoefficient: 2, maxBackoffMs: 60_000 },
    loop: { continueAsNewAfter: 1000, eventsKept: 1000, shasKept: 1000 },
    activity: { heartbeatTimeoutMs: 10_000, maxAttempts: 3, maxRetryIntervalMs: 10_000 },
    ...over,
  };
}

export const sha = (n: number): string => n.toString(16).padStart(40, '0');
