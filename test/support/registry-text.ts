// The smallest registry the loader accepts, for unit tests that edit it into what they need:
// one command adapter (with a secret's name) and one follower, every default declared.
export const BASE_REGISTRY = `controller:
  registryId: test
  temporal: { address: 127.0.0.1:7233, namespace: default, taskQueue: q, workflowTaskTimeout: 10s }
  worker: { maxConcurrentActivityTaskExecutions: 5, maxConcurrentWorkflowTaskExecutions: 5, maxCachedWorkflows: 10, shutdownGraceTime: 5s, stickyQueueScheduleToStartTimeout: 10s }
defaults:
  pollInterval: 15s
  observe: { timeout: 10s, mode: poll, fallbackInterval: 5m }
  closeout: { budget: 120s, pollInterval: 2s }
  retry: { maxAttempts: 3, initialBackoff: 5s, backoffCoefficient: 2, maxBackoff: 60s }
  adapter: { timeout: 30s, maxOutputBytes: 65536 }
  activity: { heartbeatTimeout: 10s, maxAttempts: 3, maxRetryInterval: 10s }
  loop: { continueAsNewAfter: 100, eventsKept: 50, shasKept: 50 }
adapters:
  lane:
    kind: command
    env: [LANE_TOKEN]
    status: { argv: [lanectl, status, --lane, "{lane}"] }
    trigger: { argv: [lanectl, deploy, --lane, "{lane}", --sha, "{sha}"] }
    checks:
      ready: { kind: adapter-status }
followers:
  - id: one
    enabled: true
    adapter: lane
    source: { mirror: "git://127.0.0.1:9418/org/repo.git", branch: main }
    target: { configRef: lanes.yaml, params: { lane: a } }
    closeout: { check: ready }
`;

/** A `controller.kubernetes` block for BASE_REGISTRY (it has a source for LANE_TOKEN); clone it before editing. */
export const KUBE_CONTROLLER = {
  namespace: 'branch-follower',
  serviceAccount: 'branch-follower',
  fieldManager: 'branch-follower',
  configMaps: { registry: 'bf-registry', state: 'bf-state' },
  deployment: {
    name: 'bf-worker',
    replicas: 2,
    image: 'registry.example.com/bf:1',
    imagePullPolicy: 'IfNotPresent',
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
    healthPort: 8080,
    rollout: { budget: '60s', pollInterval: '2s' },
  },
  env: { LANE_TOKEN: { secretKeyRef: { name: 'lane', key: 'token' } } },
};
