// The metrics a worker exports on `controller.metrics.listen` (Prometheus text, GET /metrics),
// next to the Temporal SDK's own `temporal_*` series. Follower metrics come from the workflows
// through the SDK's workflow metric meter, which emits nothing while a run replays; the others
// from the worker process (webhook receiver) and from activities (notifications). The alert
// rules, the Grafana dashboard and docs/metrics.md read these names from here.

export interface MetricDef {
  kind: 'counter' | 'gauge' | 'histogram';
  /** Labels we set; series from workflows also carry the SDK's namespace, taskQueue and workflowType. */
  labels: readonly string[];
  help: string;
  /** Histograms: bucket bounds, in the metric's unit. */
  buckets?: readonly number[];
}

export const METRICS = {
  branch_follower_phase_since_timestamp_seconds: {
    kind: 'gauge',
    labels: ['follower', 'phase', 'code'],
    help: "When the follower entered its phase with this code (Unix seconds); the phase and code it left read 0. A follower's current phase is its series with the largest value (a run that moved to another worker may leave an older value on the first).",
  },
  branch_follower_triggers_total: {
    kind: 'counter',
    labels: ['follower'],
    help: 'Triggers the follower fired at its runtime (a trigger the runtime already had is not counted).',
  },
  branch_follower_deploys_total: {
    kind: 'counter',
    labels: ['follower', 'outcome', 'code'],
    help: 'Runs that ended, by outcome (Succeeded, Failed, Superseded) and code (docs/codes.md).',
  },
  branch_follower_seen_to_succeeded_seconds: {
    kind: 'histogram',
    labels: ['follower'],
    help: 'From the first read that saw a sha to the close-out that saw it Succeeded.',
    buckets: [1, 2, 5, 10, 20, 30, 60, 90, 120, 180, 300, 600, 1800],
  },
  branch_follower_budget_overruns_total: {
    kind: 'counter',
    labels: ['follower', 'code'],
    help: 'Runs that did not close out within the budget: ClosedOutOverBudget (succeeded late) or BudgetExceeded (failed).',
  },
  branch_follower_supersedes_total: {
    kind: 'counter',
    labels: ['follower'],
    help: 'Runs superseded because the branch moved on before they closed out.',
  },
  branch_follower_mirror_read_failures_total: {
    kind: 'counter',
    labels: ['follower', 'code'],
    help: 'Mirror reads that failed, by code (MirrorUnreachable, BranchNotFound, InvalidObservation, MirrorAdvertisementTooLarge).',
  },
  branch_follower_mirror_read_timestamp_seconds: {
    kind: 'gauge',
    labels: ['follower'],
    help: 'When the follower last read its branch on the mirror and got an answer (Unix seconds): how stale what it knows of the head may be.',
  },
  branch_follower_mirror_lag_seconds: {
    kind: 'histogram',
    labels: ['follower'],
    help: 'From a push webhook announcing a sha to the read that found it on the mirror (the mirror lagging the git host).',
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  },
  branch_follower_missed_webhooks_total: {
    kind: 'counter',
    labels: ['follower', 'repository'],
    help: 'Moves found by reading the mirror that no push webhook announced within the announce window (MissedWebhook).',
  },
  branch_follower_webhook_requests_total: {
    kind: 'counter',
    labels: ['source', 'result'],
    help: 'Requests to the webhook receiver, by source and result (see WEBHOOK_RESULTS).',
  },
  branch_follower_notifications_total: {
    kind: 'counter',
    labels: ['sink', 'kind', 'notice', 'result'],
    help: 'Notification delivery attempts, by sink, notice type and result (delivered, failed).',
  },
} as const satisfies Record<string, MetricDef>;

export type MetricName = keyof typeof METRICS;

/** The receiver's answers, as the `result` label counts them. */
export const WEBHOOK_RESULTS = [
  'accepted',
  'noFollower',
  'ignored',
  'duplicate',
  'unchanged',
  'unauthorized',
  'badRequest',
  'tooLarge',
  'timedOut',
  'rateLimited',
  'tooManyFailures',
  'noSecret',
  'notFound',
  'methodNotAllowed',
  'error',
] as const;
export type WebhookResult = (typeof WEBHOOK_RESULTS)[number];

/** The exporter's bucket bounds for our histograms (Runtime telemetry options). */
export const histogramBuckets = (): Record<string, number[]> =>
  Object.fromEntries(
    Object.entries(METRICS).flatMap(([name, def]) =>
      'buckets' in def ? [[name, [...(def as MetricDef).buckets!]]] : [],
    ),
  );
