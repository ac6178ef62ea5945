// Renders the controller's Kubernetes objects from the registry: Namespace, ServiceAccount,
// least-privilege Roles and RoleBindings, the registry and state ConfigMaps, and the worker
// Deployment. Pure: the same registry always renders the same objects, so `plan` can diff them
// and deploy/base/ (the kustomize base) is this function's output for the shipped registry.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { FINGERPRINT_KEY_ENV } from '../activities/adapter.ts';
import { parseDuration } from '../config/duration.ts';
import { splitHostPort } from '../config/host-port.ts';
import type { Registry } from '../config/registry.ts';
import { roleRules, type PolicyRule } from './rbac.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

/** Where the image keeps the controller source; the registry files are mounted into its config/. */
export const APP_DIR = '/app';
const WORK_DIR = '/work';
const TLS_DIR = '/etc/branch-follower/temporal-tls';
export const REGISTRY_IN_POD = `${APP_DIR}/config/cicd-branch-followers.yaml`;
/** The image runs plain JavaScript (scripts/build.mjs, run by deploy/Containerfile): the compiled worker and a prebuilt workflow bundle. */
const WORKER_COMMAND = ['node', 'dist/worker.mjs'];
const WORKFLOW_BUNDLE_IN_POD = `${APP_DIR}/dist/workflows.js`;
const WORKER_ROLE = 'branch-follower-worker';

export const LABELS = {
  'app.kubernetes.io/name': 'branch-follower',
  'app.kubernetes.io/component': 'worker',
  'app.kubernetes.io/managed-by': 'branch-follower',
};
const SELECTOR = { 'app.kubernetes.io/name': 'branch-follower', 'app.kubernetes.io/component': 'worker' };

export class RenderError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** The kubernetes block, or an error saying the registry has none. */
export function kubernetesOf(registry: Registry) {
  const k = registry.controller.kubernetes;
  if (!k)
    throw new RenderError(
      `${registry.file} has no controller.kubernetes block`,
      'declare controller.kubernetes (docs/deploy.md) to install the worker into a cluster',
    );
  return k;
}

/** ConfigMap keys cannot hold "/": a file under a subdirectory is stored as dir__file. */
export const configMapKey = (relPath: string): string => relPath.split('/').join('__');

export function renderObjects(registry: Registry): KubeObject[] {
  const k = kubernetesOf(registry);
  const ns = k.namespace;
  const labels = { ...LABELS };

  const files = new Map<string, string>([[configMapKey(path.basename(REGISTRY_IN_POD)), registry.text]]);
  const mounts: { key: string; path: string }[] = [
    { key: configMapKey(path.basename(REGISTRY_IN_POD)), path: path.basename(REGISTRY_IN_POD) },
  ];
  for (const rel of registry.files) {
    const key = configMapKey(rel);
    if (files.has(key)) throw new RenderError(`two registry files map to the ConfigMap key ${key}`, `rename ${rel}`);
    files.set(key, readFileSync(path.join(registry.dir, rel), 'utf8'));
    mounts.push({ key, path: rel });
  }
  const registryHash = createHash('sha256');
  for (const [key, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) registryHash.update(`${key}\0${text}\0`);

  const roles: KubeObject[] = [];
  for (const [namespace, rules] of roleRules(registry)) {
    roles.push(role(namespace, rules, labels), roleBinding(namespace, ns, k.serviceAccount, labels));
  }

  const t = registry.controller.temporal;
  const d = k.deployment;
  const webhookPort = portOf(registry.controller.webhooks?.listen);
  const metricsPort = portOf(registry.controller.metrics?.listen);
  const env: Record<string, unknown>[] = [
    { name: 'BRANCH_FOLLOWER_REGISTRY', value: REGISTRY_IN_POD },
    { name: 'BRANCH_FOLLOWER_HEALTH_LISTEN', value: `0.0.0.0:${d.healthPort}` },
    { name: 'BRANCH_FOLLOWER_WORKFLOW_BUNDLE', value: WORKFLOW_BUNDLE_IN_POD },
    ...(webhookPort ? [{ name: 'BRANCH_FOLLOWER_WEBHOOKS_LISTEN', value: `0.0.0.0:${webhookPort}` }] : []),
    ...(metricsPort ? [{ name: 'BRANCH_FOLLOWER_METRICS_LISTEN', value: `0.0.0.0:${metricsPort}` }] : []),
    { name: 'HOME', value: WORK_DIR },
    { name: 'TMPDIR', value: WORK_DIR },
    ...(t.tls ? [{ name: 'BRANCH_FOLLOWER_TEMPORAL_TLS_DIR', value: TLS_DIR }] : []),
    ...(t.apiKey
      ? [{ name: 'BRANCH_FOLLOWER_TEMPORAL_API_KEY', valueFrom: { secretKeyRef: t.apiKey.secretRef } }]
      : []),
    ...Object.entries(k.env ?? {}).map(([name, source]) => ({
      name,
      valueFrom: { secretKeyRef: source.secretKeyRef },
    })),
    ...(k.fingerprintKey
      ? [{ name: FINGERPRINT_KEY_ENV, valueFrom: { secretKeyRef: k.fingerprintKey.secretKeyRef } }]
      : []),
  ];
  const probe = (p: string, periodSeconds: number, failureThreshold: number) => ({
    httpGet: { path: p, port: 'health' },
    periodSeconds,
    failureThreshold,
  });
  const graceSeconds = Math.ceil(parseDuration(registry.controller.worker.shutdownGraceTime) / 1000) + 10;

  const deployment: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: d.name, namespace: ns, labels },
    spec: {
      replicas: d.replicas,
      selector: { matchLabels: SELECTOR },
      // Kubernetes marks the rollout failed (ProgressDeadlineExceeded) at the same budget `apply --wait` keeps.
      progressDeadlineSeconds: Math.ceil(parseDuration(d.rollout.budget) / 1000),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: {
            'branch-follower.dev/registry-sha256': registryHash.digest('hex'),
            // The convention Prometheus's kubernetes_sd examples (and most charts) scrape pods by.
            ...(metricsPort
              ? {
                  'prometheus.io/scrape': 'true',
                  'prometheus.io/port': String(metricsPort),
                  'prometheus.io/path': '/metrics',
                }
              : {}),
          },
        },
        spec: {
          serviceAccountName: k.serviceAccount,
          automountServiceAccountToken: true,
          terminationGracePeriodSeconds: graceSeconds,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'worker',
              image: d.image,
              imagePullPolicy: d.imagePullPolicy,
              workingDir: APP_DIR,
              command: WORKER_COMMAND,
              env,
              ports: [
                { name: 'health', containerPort: d.healthPort },
                ...(webhookPort ? [{ name: 'webhooks', containerPort: webhookPort }] : []),
                ...(metricsPort ? [{ name: 'metrics', containerPort: metricsPort }] : []),
              ],
              startupProbe: probe('/healthz', 2, 60),
              livenessProbe: probe('/healthz', 10, 3),
              readinessProbe: probe('/readyz', 5, 2),
              resources: { requests: d.resources.requests, limits: stripUndefined(d.resources.limits) },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [
                { name: 'work', mountPath: WORK_DIR },
                // One subPath mount per file: the image's config/ also holds the registry loader.
                ...mounts.map((m) => ({
                  name: 'registry',
                  mountPath: `${APP_DIR}/config/${m.path}`,
                  subPath: m.path,
                  readOnly: true,
                })),
                ...(t.tls ? [{ name: 'temporal-tls', mountPath: TLS_DIR, readOnly: true }] : []),
              ],
            },
          ],
          volumes: [
            { name: 'work', emptyDir: {} },
            { name: 'registry', configMap: { name: k.configMaps.registry, items: mounts } },
            ...(t.tls ? [{ name: 'temporal-tls', secret: { secretName: t.tls.secretRef.name } }] : []),
          ],
        },
      },
    },
  };

  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: k.serviceAccount, namespace: ns, labels } },
    ...roles,
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: k.configMaps.registry, namespace: ns, labels },
      data: Object.fromEntries(files),
    },
    // No `data`: its keys belong to the followers (one each); apply must never reset them.
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: k.configMaps.state, namespace: ns, labels } },
    deployment,
    // Git hosts post to this Service (expose it through your ingress); every worker replica answers.
    ...(webhookPort
      ? [
          {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: `${d.name}-webhooks`, namespace: ns, labels },
            spec: { selector: SELECTOR, ports: [{ name: 'webhooks', port: webhookPort, targetPort: 'webhooks' }] },
          },
        ]
      : []),
  ];
}

/** The port of a listen address: in the pod the receiver and /metrics listen on every address there (the *_LISTEN variables). */
const portOf = (listen: string | undefined): number | undefined => (listen ? splitHostPort(listen)[1] : undefined);

function role(namespace: string, rules: PolicyRule[], labels: Record<string, string>): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: WORKER_ROLE, namespace, labels },
    rules,
  };
}

function roleBinding(
  namespace: string,
  saNamespace: string,
  serviceAccount: string,
  labels: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: WORKER_ROLE, namespace, labels },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: WORKER_ROLE },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: saNamespace }],
  };
}

function stripUndefined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
