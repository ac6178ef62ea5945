// Every Kubernetes kind in contract/kube-kinds/ is wired into every layer, from its descriptor
// alone: the registry accepts it as an adapter and as a check, wants a template of its type and
// refuses its check under another adapter; the Role grants its rule; the activities create, read,
// judge and cancel its runs as it says; `logs` finds its pods by its label. A new kind passes
// here without any edit to this file.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { AdapterCall } from '../../../activities/adapter.ts';
import type { KubeAccess } from '../../../activities/kube/access.ts';
import { cancelRun, runStatus, triggerRun } from '../../../activities/kube/runs.ts';
import { runLogs } from '../../../client/cluster.ts';
import { ConfigError, loadRegistry, type ConfigIssue } from '../../../config/registry.ts';
import { KUBE_ADAPTER_KINDS, KUBE_KINDS, kubeKind } from '../../../contract/kube-kinds/index.ts';
import type { KubeAdapterSpec } from '../../../contract/spec.ts';
import { roleRules } from '../../../deploy/rbac.ts';
import { BASE_REGISTRY, KUBE_CONTROLLER } from '../../support/registry-text.ts';
import { sha } from '../../support/spec.ts';
import { tempDir } from '../../support/temp-dir.ts';

const S = sha(7);

/** BASE_REGISTRY with a controller.kubernetes block and an adapter `built` of `name` (check `done`) used by a second follower. */
function registryDoc(name: string, edit: (doc: any) => void = () => undefined): any {
  const doc = YAML.parse(BASE_REGISTRY);
  doc.controller.kubernetes = structuredClone(KUBE_CONTROLLER);
  doc.adapters.built = {
    kind: name,
    namespace: 'lanes',
    template: 'run.yaml',
    checks: { done: { kind: name, retryable: true } },
  };
  doc.followers.push({
    ...structuredClone(doc.followers[0]),
    id: 'two',
    adapter: 'built',
    closeout: { check: 'done' },
  });
  edit(doc);
  return doc;
}

function load(doc: unknown, template: string) {
  const dir = tempDir('bf-kinds-');
  writeFileSync(path.join(dir, 'lanes.yaml'), 'lanes: {}\n');
  writeFileSync(path.join(dir, 'run.yaml'), template);
  writeFileSync(path.join(dir, 'registry.yaml'), YAML.stringify(doc));
  return loadRegistry(path.join(dir, 'registry.yaml'));
}

function issuesOf(doc: unknown, template: string): ConfigIssue[] {
  try {
    load(doc, template);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

/** A KubeAccess that records each call; create answers 409 (the run exists), read answers `existing`. */
function recordingKube(existing?: object) {
  const calls: { op: string; args: unknown[] }[] = [];
  const op =
    (name: string, answer: () => unknown) =>
    async (...args: unknown[]) => {
      calls.push({ op: name, args });
      return answer();
    };
  const kube = {
    source: 'recording',
    objects: {
      create: op('create', () => {
        throw new ApiException(409, 'AlreadyExists', {}, {});
      }),
      read: op('read', () => existing),
      patch: op('patch', () => ({})),
      delete: op('delete', () => ({})),
    },
    core: { listNamespacedPod: op('listNamespacedPod', () => ({ items: [] })) },
  } as unknown as KubeAccess;
  return { kube, calls };
}

it('lists each kind once, and looks each up by its name', () => {
  expect(new Set(KUBE_ADAPTER_KINDS).size).toBe(KUBE_KINDS.length);
  expect(KUBE_ADAPTER_KINDS).not.toContain('command');
  for (const kind of KUBE_KINDS) expect(kubeKind(kind.name)).toBe(kind);
});

describe.each(KUBE_KINDS.map((k) => [k.name, k] as const))('%s', (name, kind) => {
  const template = `apiVersion: ${kind.apiVersion}\nkind: ${kind.kind}\nspec: {}\n`;
  const adapter: KubeAdapterSpec = {
    id: 'built',
    kind: name,
    timeoutMs: 1000,
    env: [],
    namespace: 'lanes',
    template: YAML.parse(template),
    templateFile: 'run.yaml',
  };
  const call: AdapterCall<KubeAdapterSpec> = {
    follower: 'two',
    branch: 'main',
    configRef: 'lanes.yaml',
    params: {},
    adapter,
  };
  const type = { apiVersion: kind.apiVersion, kind: kind.kind };

  it("the registry accepts it as an adapter and as that adapter's check", () => {
    const spec = load(registryDoc(name), template).followers[1]!.spec;
    expect(spec.adapter).toMatchObject({ kind: name, namespace: 'lanes', template: type });
    expect(spec.closeout).toMatchObject({ check: 'done', kind: name, retryable: true });
  });

  it('the registry wants a template of its apiVersion and kind, and its check under its own adapter only', () => {
    expect(issuesOf(registryDoc(name), 'apiVersion: example.com/v9\nkind: Other\n')).toEqual([
      expect.objectContaining({
        path: 'kind',
        message: `expected apiVersion ${kind.apiVersion} and kind ${kind.kind}, found example.com/v9 Other`,
        hint: `adapters.built is ${name}`,
      }),
    ]);
    const misplaced = registryDoc(name, (d) => (d.adapters.lane.checks.done = { kind: name, retryable: false }));
    expect(issuesOf(misplaced, template).map((i) => `${i.path}: ${i.message}`)).toEqual([
      `adapters.lane.checks.done.kind: a ${name} check needs a ${name} adapter; lane is command`,
    ]);
  });

  it("the Role grants its rule in the adapter's namespace, in its apiVersion's group", () => {
    const rules = roleRules(load(registryDoc(name), template)).get('lanes');
    // `group/version`, or a bare version for the core group ('').
    const [group, version] = kind.apiVersion.split('/');
    expect(rules).toEqual([
      {
        apiGroups: [version === undefined ? '' : group],
        resources: [kind.rbac.resource],
        verbs: [...kind.rbac.verbs].sort(),
      },
    ]);
  });

  it('the activities read, judge and cancel its runs as it says', async () => {
    const run = {
      ...type,
      metadata: {
        name: 'two-run',
        labels: { 'branch-follower.dev/follower': 'two' },
        annotations: { 'branch-follower.dev/sha': S },
      },
      status: {},
    };
    const { kube, calls } = recordingKube(run);
    const header = { ...type, metadata: { name: 'two-run', namespace: 'lanes' } };

    await expect(runStatus(kube, call, S, undefined, true)).resolves.toEqual({
      phase: 'Pending',
      message: `no ${kind.kind} created yet`,
    });
    await expect(runStatus(kube, call, S, 'two-run', true)).resolves.toEqual(kind.verdict(run, 'two-run', S, true));
    expect(calls.splice(0)).toEqual([{ op: 'read', args: [header] }]);

    await expect(triggerRun(kube, call, S, 1)).resolves.toMatchObject({ fired: false, alreadyRunning: true });
    expect(
      calls
        .splice(0)
        .map((c) => [
          c.op,
          (c.args[0] as { apiVersion: string; kind: string }).apiVersion,
          (c.args[0] as { kind: string }).kind,
        ]),
    ).toEqual([
      ['create', kind.apiVersion, kind.kind],
      ['read', kind.apiVersion, kind.kind],
    ]);

    await cancelRun(kube, call, 'two-run');
    const how = kind.cancel;
    expect(calls.splice(0)).toEqual([
      how.by === 'merge-patch'
        ? {
            op: 'patch',
            args: [
              { ...header, ...how.patch },
              undefined,
              undefined,
              undefined,
              undefined,
              'application/merge-patch+json',
            ],
          }
        : { op: 'delete', args: [header, undefined, undefined, undefined, undefined, how.propagation] },
    ]);
  });

  it('logs finds its pods by its label', async () => {
    const { kube, calls } = recordingKube();
    await runLogs(kube, adapter, 'two-run', 10);
    expect(calls).toEqual([
      { op: 'listNamespacedPod', args: [{ namespace: 'lanes', labelSelector: `${kind.podLabel}=two-run` }] },
    ]);
  });
});
