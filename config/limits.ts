// The ranges the registry accepts, listed once: the schema enforces them and docs/registry.md
// shows them (its "Limits" section is rendered from this file by `npm run docs`, and a test
// checks that it matches). Node timers cannot wait past ~24.8 days, so no duration may.

/** Each kind of duration: [minimum, maximum], in milliseconds. */
export const DURATION_LIMITS = {
  pollInterval: { min: 10, max: 24 * 3_600_000, applies: 'defaults.pollInterval, followers[].pollInterval' },
  observeTimeout: { min: 100, max: 10 * 60_000, applies: 'defaults.observe.timeout' },
  announceWindow: { min: 1000, max: 24 * 3_600_000, applies: 'controller.webhooks.announceWindow' },
  quietPeriod: { min: 0, max: 24 * 3_600_000, applies: 'defaults.quietPeriod, followers[].quietPeriod' },
  fallbackInterval: { min: 1000, max: 24 * 3_600_000, applies: 'defaults.observe.fallbackInterval' },
  closeoutBudget: { min: 1000, max: 24 * 3_600_000, applies: 'defaults.closeout.budget, followers[].closeout.budget' },
  closeoutPollInterval: {
    min: 10,
    max: 3_600_000,
    applies: 'defaults.closeout.pollInterval, followers[].closeout.pollInterval',
  },
  backoff: { min: 10, max: 24 * 3_600_000, applies: 'retry.initialBackoff, retry.maxBackoff (defaults and followers)' },
  adapterTimeout: { min: 100, max: 3_600_000, applies: 'defaults.adapter.timeout, adapters.<id>.timeout' },
  heartbeatTimeout: { min: 1000, max: 10 * 60_000, applies: 'defaults.activity.heartbeatTimeout' },
  // Temporal waits 1s before its first retry: a cap below that is refused by the server for every activity.
  maxRetryInterval: { min: 1000, max: 3_600_000, applies: 'defaults.activity.maxRetryInterval' },
  // The server refuses a workflow task timeout above two minutes.
  workflowTaskTimeout: { min: 1000, max: 2 * 60_000, applies: 'controller.temporal.workflowTaskTimeout' },
  shutdownGraceTime: { min: 0, max: 10 * 60_000, applies: 'controller.worker.shutdownGraceTime' },
  stickyTimeout: { min: 1000, max: 10 * 60_000, applies: 'controller.worker.stickyQueueScheduleToStartTimeout' },
  rolloutBudget: { min: 1000, max: 24 * 3_600_000, applies: 'controller.kubernetes.deployment.rollout.budget' },
  rolloutPollInterval: { min: 100, max: 10 * 60_000, applies: 'controller.kubernetes.deployment.rollout.pollInterval' },
  startTimeout: { min: 1000, max: 3_600_000, applies: 'controller.embedded.temporal.startTimeout' },
} as const;
export type DurationKind = keyof typeof DURATION_LIMITS;

/** Each number: [minimum, maximum]. */
export const NUMBER_LIMITS = {
  retryAttempts: { min: 1, max: 100, applies: 'retry.maxAttempts (defaults and followers)' },
  backoffCoefficient: { min: 1, max: 10, applies: 'retry.backoffCoefficient (defaults and followers)' },
  activityAttempts: { min: 1, max: 1000, applies: 'defaults.activity.maxAttempts' },
  outputBytes: {
    min: 1024,
    max: 64 * 1024 * 1024,
    applies: 'defaults.adapter.maxOutputBytes, adapters.<id>.maxOutputBytes',
  },
  continueAsNewAfter: { min: 1, max: 100_000, applies: 'defaults.loop.continueAsNewAfter' },
  kept: { min: 1, max: 10_000, applies: 'defaults.loop.eventsKept, defaults.loop.shasKept' },
  concurrency: {
    min: 1,
    max: 10_000,
    applies: 'controller.worker.maxConcurrentActivityTaskExecutions, …WorkflowTaskExecutions',
  },
  cachedWorkflows: { min: 1, max: 1_000_000, applies: 'controller.worker.maxCachedWorkflows' },
  replicas: { min: 0, max: 100, applies: 'controller.kubernetes.deployment.replicas' },
  port: { min: 1, max: 65_535, applies: 'controller.embedded.temporal.uiPort' },
  healthPort: { min: 1024, max: 65_535, applies: 'controller.kubernetes.deployment.healthPort' },
} as const;
export type NumberKind = keyof typeof NUMBER_LIMITS;
