// The registry's shape. Every key is declared here; unknown keys are errors. Values that have
// a fallback are optional on the follower/adapter and required in `defaults:`, so the code
// itself holds no hidden defaults.
import { z } from 'zod';
import { KUBE_KINDS, type KubeAdapterKind } from '../contract/kube-kinds/index.ts';
import { DurationError, formatLimit, parseDuration } from './duration.ts';
import { DURATION_LIMITS, NUMBER_LIMITS, type DurationKind, type NumberKind } from './limits.ts';
import { mirrorProblems } from './mirror-url.ts';
import { branchNameProblem } from './refname.ts';
import { escapeForDisplay, mixedScriptProblem } from './text-safety.ts';

/** What a value of the wrong type was, in YAML words. */
const yamlTypeOf = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'a list'
      : typeof v === 'object'
        ? 'a map'
        : typeof v === 'string'
          ? `the string ${JSON.stringify(v)}`
          : `${typeof v} ${String(v)}`;

/** What the JSON Schema tells an editor a duration looks like (the range is checked by the loader). */
const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';

/** A duration of one kind, within its documented range (config/limits.ts). */
function duration(kind: DurationKind) {
  const { min, max } = DURATION_LIMITS[kind];
  const range = `between ${formatLimit(min)} and ${formatLimit(max)}`;
  return z
    .string({
      error: (iss) =>
        iss.input === undefined
          ? undefined
          : `expected a duration with a unit, such as ${formatLimit(Math.max(min, 1000))}; ${typeof iss.input === 'number' ? `a bare number has no unit: write ${iss.input}s or ${iss.input}ms` : `found ${yamlTypeOf(iss.input)}`}`,
    })
    .superRefine((value, ctx) => {
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch (err) {
        if (!(err instanceof DurationError)) throw err;
        ctx.addIssue({ code: 'custom', message: err.message });
        return;
      }
      if (ms < min || ms > max)
        ctx.addIssue({ code: 'custom', message: `${value} is out of range: write a duration ${range}` });
    })
    .meta({ description: `a duration ${range} (Go syntax: 500ms, 15s, 2m, 1m30s)`, pattern: DURATION_PATTERN });
}

/** A whole number of one kind, within its documented range. */
function count(kind: NumberKind) {
  const { min, max } = NUMBER_LIMITS[kind];
  const write = `write a whole number between ${min} and ${max}`;
  return z
    .number({
      error: (iss) =>
        iss.input === undefined ? undefined : `expected a number, found ${yamlTypeOf(iss.input)}: ${write}`,
    })
    .refine((n) => Number.isInteger(n) && n >= min && n <= max, {
      error: (iss) => `${String(iss.input)} is out of range: ${write}`,
    })
    .meta({ type: 'integer', minimum: min, maximum: max });
}

const bool = z.boolean({
  error: (iss) =>
    iss.input === undefined
      ? undefined
      : `expected true or false, found ${yamlTypeOf(iss.input)}: write true or false (yes, no, on and off are plain strings in YAML 1.2)`,
});
const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port, such as 127.0.0.1:7233');
const name = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'expected a lowercase DNS label (a-z, 0-9, "-"; at most 63 characters)',
  );
/**
 * A Temporal namespace or task queue: it is quoted into visibility queries (always escaped), and
 * kept to plain characters so that no value can read as query syntax.
 */
export const TEMPORAL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const temporalName = z
  .string()
  .regex(TEMPORAL_NAME, 'expected a plain name (letters, digits, ".", "_", "-"), such as branch-followers');
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name such as HWLAB_TOKEN');
/** Values substituted into argv: no option look-alikes, no shell or control characters. */
const PARAM_VALUE = /^[A-Za-z0-9_][A-Za-z0-9._/:@+=-]*$/;
const paramValue = z
  .string()
  .regex(
    PARAM_VALUE,
    'a parameter value must start with a letter, digit or "_" and use only letters, digits and ._/:@+=-',
  );

const branch = z.string().superRefine((value, ctx) => {
  const problem = branchNameProblem(value) ?? mixedScriptProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `branch name ${escapeForDisplay(value)} ${problem}` });
});

const mirror = z.string().superRefine((value, ctx) => {
  for (const message of mirrorProblems(value)) ctx.addIssue({ code: 'custom', message });
});

/** Where the worker finds a mirror's credentials: environment variable names, never values. */
const mirrorAuth = z.union(
  [
    z.strictObject({ bearerTokenEnv: envName }),
    z.strictObject({ basicEnv: z.strictObject({ username: envName, password: envName }) }),
    z.strictObject({ sshKeyFileEnv: envName }),
  ],
  {
    error:
      'expected one of { bearerTokenEnv: NAME }, { basicEnv: { username: NAME, password: NAME } } or { sshKeyFileEnv: NAME }: the names of environment variables holding the credential',
  },
);

const command = z.strictObject({ argv: z.array(z.string().min(1)).min(1) });

/** A Secret key reference: where a value lives in the cluster, never the value. */
const secretKeyRef = z.strictObject({
  name,
  key: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'expected a Secret key such as token'),
});
const quantity = z
  .string()
  .regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'expected a Kubernetes quantity such as 100m, 256Mi or 1');
/** A namespace or object name; `{param}` placeholders are rendered per follower and checked again. */
const objectRef = z
  .string()
  .regex(/^[a-z0-9{}.-]+$/i, 'expected a Kubernetes name, optionally with {param} placeholders');

const kubernetes = z.strictObject({
  /** The kubeconfig context the operator CLI uses (the "route" to the cluster); its current context otherwise. */
  context: z.string().min(1).optional(),
  namespace: name,
  serviceAccount: name,
  /** The server-side apply field manager for everything `apply` writes. */
  fieldManager: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, 'expected a field manager name such as branch-follower'),
  configMaps: z.strictObject({ registry: name, state: name }),
  deployment: z.strictObject({
    name,
    replicas: count('replicas'),
    image: z.string().regex(/^[^\s]+$/, 'expected an image reference such as registry.example/branch-follower:0.1.0'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
    resources: z.strictObject({
      requests: z.strictObject({ cpu: quantity, memory: quantity }),
      limits: z.strictObject({ cpu: quantity.optional(), memory: quantity }),
    }),
    /** The worker's /healthz and /readyz port. */
    healthPort: count('healthPort'),
    /** `apply --wait`: how long the rollout may take, and how often to look. */
    rollout: z.strictObject({ budget: duration('rolloutBudget'), pollInterval: duration('rolloutPollInterval') }),
  }),
  /** Where each environment name the worker reads (adapter `env`, webhook `secretEnv`) comes from in the cluster: a Secret key reference. */
  env: z.record(envName, z.strictObject({ secretKeyRef })).optional(),
  /** The key every worker shares for secret fingerprints (HMAC); without it, status shows presence only. */
  fingerprintKey: z.strictObject({ secretKeyRef }).optional(),
});

const retryable = bool;
/** The check that reads the runs of a built-in adapter kind, named like it. */
const kubeCheck = <K extends KubeAdapterKind>(kind: K) => z.strictObject({ kind: z.literal(kind), retryable });
const check = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('adapter-status') }),
  ...KUBE_KINDS.map((k) => kubeCheck(k.name)),
  z.strictObject({
    kind: z.literal('deployment-rollout'),
    namespace: objectRef,
    name: objectRef,
    revision: z.union([
      z.strictObject({
        annotation: z
          .string()
          .regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9._-]+$/, 'expected an annotation key such as example.com/git-sha'),
      }),
      z.strictObject({ imageTag: z.strictObject({ container: name }) }),
    ]),
    retryable,
  }),
  z.strictObject({ kind: z.literal('argocd-application'), namespace: objectRef, name: objectRef, retryable }),
]);

/** A built-in adapter: one object of its kind (contract/kube-kinds/) per trigger, from a template. */
function kubeAdapter<K extends KubeAdapterKind>(kind: K) {
  return z.strictObject({
    kind: z.literal(kind),
    timeout: duration('adapterTimeout').optional(),
    /** Where the objects are created; may use {param} placeholders. */
    namespace: objectRef,
    /** A YAML file (relative to the registry) holding one object; {sha}, {branch}, {follower} and params are rendered. */
    template: z.string().min(1),
    checks: z.record(name, check),
  });
}

const adapter = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('command'),
    timeout: duration('adapterTimeout').optional(),
    maxOutputBytes: count('outputBytes').optional(),
    env: z.array(envName).optional(),
    status: command,
    trigger: command,
    cancel: command.optional(),
    logs: command.optional(),
    checks: z.record(name, check),
  }),
  ...KUBE_KINDS.map((k) => kubeAdapter(k.name)),
]);

/** A notification sink (docs/events.md), referenced by id from a follower's `notify:`. */
const sink = z.discriminatedUnion('kind', [
  /** Its URL written here, or the variable that holds it. */
  z
    .strictObject({
      kind: z.literal('cloudevents'),
      url: z.url().optional(),
      urlEnv: envName.optional(),
      bearerTokenEnv: envName.optional(),
    })
    .refine((s) => (s.url === undefined) !== (s.urlEnv === undefined), {
      message: 'write url: <https://…> or urlEnv: <VARIABLE> (one of them)',
      path: ['url'],
    }),
  /** A chat webhook's URL holds its own secret: only the variable that holds it is written here. */
  z.strictObject({ kind: z.literal('chat'), urlEnv: envName }),
  ...(['github-status', 'gitea-status'] as const).map((kind) =>
    z.strictObject({
      kind: z.literal(kind),
      /** The host's API base; GitHub's is the default for github-status. */
      apiUrl: kind === 'github-status' ? z.url().optional() : z.url(),
      tokenEnv: envName,
      /** owner/name on the host; absent: the follower's mirror repository path. */
      repository: z
        .string()
        .regex(/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+$/, 'expected owner/name such as org/app')
        .optional(),
      /** The status context; absent: branch-follower/<follower>. */
      context: z.string().min(1).max(100).optional(),
    }),
  ),
]);

const retry = z.strictObject({
  maxAttempts: count('retryAttempts'),
  initialBackoff: duration('backoff'),
  backoffCoefficient: z
    .number({
      error: (iss) =>
        iss.input === undefined
          ? undefined
          : `expected a number, found ${yamlTypeOf(iss.input)}: write a factor between 1 and 10, such as 2`,
    })
    .refine(
      (n) => n >= NUMBER_LIMITS.backoffCoefficient.min && n <= NUMBER_LIMITS.backoffCoefficient.max,
      'out of range: write a factor between 1 and 10, such as 2',
    ),
  maxBackoff: duration('backoff'),
});

export const registrySchema = z.strictObject({
  controller: z.strictObject({
    /** Names this registry: `apply` starts followers under it and stops only the ones it started. */
    registryId: name,
    temporal: z.strictObject({
      address: hostPort,
      namespace: temporalName,
      taskQueue: temporalName,
      /** Where operators open the Temporal UI; used in drill-down hints. */
      uiUrl: z.url().optional(),
      /** How long a workflow task may run before the server hands it to another worker. */
      workflowTaskTimeout: duration('workflowTaskTimeout'),
      /** mTLS to the frontend: a kubernetes.io/tls Secret (tls.crt, tls.key, optional ca.crt). */
      tls: z.strictObject({ secretRef: z.strictObject({ name }), serverName: z.string().min(1).optional() }).optional(),
      /** An API key (Temporal Cloud): a Secret key reference, never the key itself. */
      apiKey: z.strictObject({ secretRef: secretKeyRef }).optional(),
    }),
    worker: z.strictObject({
      maxConcurrentActivityTaskExecutions: count('concurrency'),
      maxConcurrentWorkflowTaskExecutions: count('concurrency'),
      maxCachedWorkflows: count('cachedWorkflows'),
      shutdownGraceTime: duration('shutdownGraceTime'),
      /** How long a follower's tasks wait for the worker that cached it before any worker may take them. */
      stickyQueueScheduleToStartTimeout: duration('stickyTimeout'),
    }),
    /** Where `apply` installs the worker: rendered into the manifests of deploy/. */
    kubernetes: kubernetes.optional(),
    /**
     * Push webhooks from git hosts, received by every worker (docs/events.md): a verified push
     * sends `refresh` to the followers of that repository and branch.
     */
    webhooks: z
      .strictObject({
        /** Where each worker listens: POST /hooks/<source>. */
        listen: hostPort,
        /** By name, the path segment the git host posts to. */
        sources: z.record(
          name,
          z.strictObject({
            /** How the request proves it came from the host. */
            kind: z.enum(['github', 'gitea', 'gitlab', 'generic']),
            /** The worker's environment variable holding the shared secret (never the secret itself). */
            secretEnv: envName,
          }),
        ),
        /** A move a follower finds by reading that no push announced within this long is a missed webhook (default 5m). */
        announceWindow: duration('announceWindow').optional(),
      })
      .optional(),
    /** Prometheus metrics (docs/metrics.md): each worker serves GET /metrics here. */
    metrics: z.strictObject({ listen: hostPort }).optional(),
    /** The local stack `npm start` brings up in place of a cluster. */
    embedded: z
      .strictObject({
        temporal: z.strictObject({
          uiPort: count('port'),
          dbFile: z.string().min(1),
          startTimeout: duration('startTimeout'),
        }),
        mirror: z.strictObject({ root: z.string().min(1), listen: hostPort, seed: z.string().min(1) }),
      })
      .optional(),
  }),
  defaults: z.strictObject({
    pollInterval: duration('pollInterval'),
    /** Trigger a new head once the branch has stayed on it this long: a burst of pushes, one deploy. 0s or absent: at once. */
    quietPeriod: duration('quietPeriod').optional(),
    /**
     * poll: each follower reads its branch every pollInterval. watch: one watcher per mirror
     * repository reads all its branch heads every pollInterval and wakes the followers whose branch
     * moved; each follower also reads its own branch every fallbackInterval.
     */
    observe: z.strictObject({
      timeout: duration('observeTimeout'),
      mode: z.enum(['poll', 'watch'], {
        error: (iss) =>
          iss.input === undefined
            ? undefined
            : `expected poll or watch, found ${yamlTypeOf(iss.input)}: write poll or watch`,
      }),
      fallbackInterval: duration('fallbackInterval'),
    }),
    closeout: z.strictObject({ budget: duration('closeoutBudget'), pollInterval: duration('closeoutPollInterval') }),
    retry,
    adapter: z.strictObject({ timeout: duration('adapterTimeout'), maxOutputBytes: count('outputBytes') }),
    activity: z.strictObject({
      heartbeatTimeout: duration('heartbeatTimeout'),
      maxAttempts: count('activityAttempts'),
      maxRetryInterval: duration('maxRetryInterval'),
    }),
    loop: z.strictObject({
      continueAsNewAfter: count('continueAsNewAfter'),
      eventsKept: count('kept'),
      shasKept: count('kept'),
    }),
  }),
  adapters: z.record(name, adapter),
  followers: z.array(
    z.strictObject({
      id: name,
      enabled: bool,
      adapter: z.string(),
      source: z.strictObject({ mirror, branch, auth: mirrorAuth.optional() }),
      target: z.strictObject({
        configRef: z.string().min(1),
        params: z
          .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]*$/, 'expected a parameter name such as node'), paramValue)
          .optional(),
      }),
      pollInterval: duration('pollInterval').optional(),
      quietPeriod: duration('quietPeriod').optional(),
      closeout: z.strictObject({
        check: z.string(),
        budget: duration('closeoutBudget').optional(),
        pollInterval: duration('closeoutPollInterval').optional(),
      }),
      retry: retry.partial().optional(),
      /** Ids of the `notify:` sinks told about this follower's deploys. */
      notify: z.array(name).optional(),
    }),
  ),
  /** Notification sinks by id: what followers tell the outside world (docs/events.md). */
  notify: z.record(name, sink).optional(),
});

export type RegistryDocument = z.infer<typeof registrySchema>;
