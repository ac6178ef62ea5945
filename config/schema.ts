// The registry's shape. Every key is declared here; unknown keys are errors. Values that have
// a fallback are optional on the follower/adapter and required in `defaults:`, so the code
// itself holds no hidden defaults.
import { z } from 'zod';
import { DURATION_PATTERN, parseDuration } from './duration.ts';
import { branchNameProblem } from './refname.ts';

const duration = z.string().regex(DURATION_PATTERN, 'expected a duration such as 500ms, 15s, 2m or 1h');
const positiveInt = z.number().int().positive();
const hostPort = z
  .string()
  .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port, such as 127.0.0.1:7233');
const name = z
  .string()
  .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected a lowercase DNS label (a-z, 0-9, "-"; at most 63 characters)');
const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name such as HWLAB_TOKEN');
/** Values substituted into argv: no option look-alikes, no shell or control characters. */
const PARAM_VALUE = /^[A-Za-z0-9_][A-Za-z0-9._/:@+=-]*$/;
const paramValue = z
  .string()
  .regex(PARAM_VALUE, 'a parameter value must start with a letter, digit or "_" and use only letters, digits and ._/:@+=-');

const branch = z.string().superRefine((value, ctx) => {
  const problem = branchNameProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: `branch name ${JSON.stringify(value)} ${problem}` });
});

const MIRROR_SCHEMES = ['git:', 'http:', 'https:', 'ssh:', 'file:'];
const mirror = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(value)} is not a URL` });
    return;
  }
  if (!MIRROR_SCHEMES.includes(url.protocol)) {
    ctx.addIssue({ code: 'custom', message: `mirror scheme ${url.protocol} is not one of ${MIRROR_SCHEMES.join(' ')}` });
  } else if (url.password) {
    ctx.addIssue({ code: 'custom', message: 'mirror URL carries a password; secrets never go in the registry' });
  } else if (/[\s\x00-\x1f]/.test(value)) {
    ctx.addIssue({ code: 'custom', message: 'mirror URL contains whitespace or control characters' });
  }
});

const command = z.strictObject({ argv: z.array(z.string().min(1)).min(1) });

/** A Secret key reference: where a value lives in the cluster, never the value. */
const secretKeyRef = z.strictObject({ name, key: z.string().regex(/^[-._a-zA-Z0-9]+$/, 'expected a Secret key such as token') });
const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti|k|M|G|T)?$/, 'expected a Kubernetes quantity such as 100m, 256Mi or 1');
/** A namespace or object name; `{param}` placeholders are rendered per follower and checked again. */
const objectRef = z.string().regex(/^[a-z0-9{}.-]+$/i, 'expected a Kubernetes name, optionally with {param} placeholders');

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
    replicas: z.number().int().min(0),
    image: z.string().regex(/^[^\s]+$/, 'expected an image reference such as registry.example/branch-follower:0.1.0'),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']),
    resources: z.strictObject({
      requests: z.strictObject({ cpu: quantity, memory: quantity }),
      limits: z.strictObject({ cpu: quantity.optional(), memory: quantity }),
    }),
    /** The worker's /healthz and /readyz port. */
    healthPort: z.number().int().min(1024).max(65535),
    /** `apply --wait`: how long the rollout may take, and how often to look. */
    rollout: z.strictObject({ budget: duration, pollInterval: duration }),
  }),
  /** Where each adapter `env` name comes from in the cluster: a Secret key reference. */
  env: z.record(envName, z.strictObject({ secretKeyRef })).optional(),
});

const retryable = z.boolean();
const check = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('adapter-status') }),
  z.strictObject({ kind: z.literal('tekton-pipelinerun'), retryable }),
  z.strictObject({ kind: z.literal('kubernetes-job'), retryable }),
  z.strictObject({
    kind: z.literal('deployment-rollout'),
    namespace: objectRef,
    name: objectRef,
    revision: z.union([
      z.strictObject({ annotation: z.string().regex(/^([a-z0-9.-]+\/)?[A-Za-z0-9._-]+$/, 'expected an annotation key such as example.com/git-sha') }),
      z.strictObject({ imageTag: z.strictObject({ container: name }) }),
    ]),
    retryable,
  }),
  z.strictObject({ kind: z.literal('argocd-application'), namespace: objectRef, name: objectRef, retryable }),
]);

function kubeAdapter<K extends 'tekton-pipelinerun' | 'kubernetes-job'>(kind: K) {
  return z.strictObject({
    kind: z.literal(kind),
    timeout: duration.optional(),
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
    timeout: duration.optional(),
    maxOutputBytes: positiveInt.optional(),
    env: z.array(envName).optional(),
    status: command,
    trigger: command,
    cancel: command.optional(),
    logs: command.optional(),
    checks: z.record(name, check),
  }),
  kubeAdapter('tekton-pipelinerun'),
  kubeAdapter('kubernetes-job'),
]);

const retry = z.strictObject({
  maxAttempts: positiveInt,
  initialBackoff: duration,
  backoffCoefficient: z.number().min(1),
  maxBackoff: duration,
});

export const registrySchema = z.strictObject({
  controller: z.strictObject({
    temporal: z.strictObject({
      address: hostPort,
      namespace: z.string().min(1),
      taskQueue: z.string().min(1),
      /** Where operators open the Temporal UI; used in drill-down hints. */
      uiUrl: z.url().optional(),
      /** How long a workflow task may run before the server hands it to another worker. */
      workflowTaskTimeout: duration,
      /** mTLS to the frontend: a kubernetes.io/tls Secret (tls.crt, tls.key, optional ca.crt). */
      tls: z.strictObject({ secretRef: z.strictObject({ name }), serverName: z.string().min(1).optional() }).optional(),
      /** An API key (Temporal Cloud): a Secret key reference, never the key itself. */
      apiKey: z.strictObject({ secretRef: secretKeyRef }).optional(),
    }),
    worker: z.strictObject({
      maxConcurrentActivityTaskExecutions: positiveInt,
      maxConcurrentWorkflowTaskExecutions: positiveInt,
      maxCachedWorkflows: positiveInt,
      shutdownGraceTime: duration,
      /** How long a follower's tasks wait for the worker that cached it before any worker may take them. */
      stickyQueueScheduleToStartTimeout: duration,
    }),
    /** Where `apply` installs the worker: rendered into the manifests of deploy/. */
    kubernetes: kubernetes.optional(),
    /** The local stack `npm start` brings up in place of a cluster. */
    embedded: z
      .strictObject({
        temporal: z.strictObject({ uiPort: positiveInt, dbFile: z.string().min(1), startTimeout: duration }),
        mirror: z.strictObject({ root: z.string().min(1), listen: hostPort, seed: z.string().min(1) }),
      })
      .optional(),
  }),
  defaults: z.strictObject({
    pollInterval: duration,
    /**
     * poll: each follower reads its branch every pollInterval. watch: one watcher per mirror
     * repository reads all its branch heads every pollInterval and wakes the followers whose branch
     * moved; each follower also reads its own branch every fallbackInterval.
     */
    observe: z.strictObject({ timeout: duration, mode: z.enum(['poll', 'watch']), fallbackInterval: duration }),
    closeout: z.strictObject({ budget: duration, pollInterval: duration }),
    retry,
    adapter: z.strictObject({ timeout: duration, maxOutputBytes: positiveInt }),
    activity: z.strictObject({
      heartbeatTimeout: duration,
      maxAttempts: positiveInt,
      // Temporal's first retry waits 1s; a cap below that is refused by the server for every activity.
      maxRetryInterval: duration.refine((v) => parseDuration(v) >= 1000, 'must be at least 1s (Temporal waits 1s before its first retry); write 1s or more'),
    }),
    loop: z.strictObject({ continueAsNewAfter: positiveInt, eventsKept: positiveInt, shasKept: positiveInt }),
  }),
  adapters: z.record(name, adapter),
  followers: z.array(
    z.strictObject({
      id: name,
      enabled: z.boolean(),
      adapter: z.string(),
      source: z.strictObject({ mirror, branch }),
      target: z.strictObject({
        configRef: z.string().min(1),
        params: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]*$/, 'expected a parameter name such as node'), paramValue).optional(),
      }),
      pollInterval: duration.optional(),
      closeout: z.strictObject({ check: z.string(), budget: duration.optional(), pollInterval: duration.optional() }),
      retry: retry.partial().optional(),
    }),
  ),
});

export type RegistryDocument = z.infer<typeof registrySchema>;
