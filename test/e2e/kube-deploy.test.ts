// Installing the worker into a real cluster: plan (server-side dry-run diff), apply --confirm
// --wait (server-side apply, then the Deployment's rollout, made real by kube-controller-manager,
// kube-scheduler and kwok), a rollout that cannot finish, the state ConfigMap surviving re-apply,
// the RBAC the render grants, proven with the worker's own ServiceAccount token, and the kustomize
// base in deploy/ applied with the real kubectl.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { objectCheck } from '../../activities/kube/checks.ts';
import { projectState } from '../../activities/kube/projection.ts';
import { triggerRun } from '../../activities/kube/runs.ts';
import { Exit } from '../../client/output.ts';
import { DEFAULT_REGISTRY, loadRegistry } from '../../config/registry.ts';
import { kustomizeFiles } from '../../deploy/kustomize.ts';
import { renderObjects } from '../../deploy/render.ts';
import { ensureKubeTools } from '../../scripts/tools.ts';
import type { KubeAdapterSpec } from '../../contract/spec.ts';
import { Harness } from '../support/harness.ts';
import { accessWithToken, installCrd, kubeRequest, serviceAccountToken, until } from '../support/kube-cluster.ts';

const kube = inject('kube');
const BIN = path.resolve(import.meta.dirname, '../../client/branch-follower.mjs');
const admin = (method: string, p: string, body?: unknown, contentType?: string) =>
  kubeRequest(kube, kube.adminToken, method, p, body, contentType);
const json = <T = any>(r: { out: string }): T => JSON.parse(r.out) as T;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function deployment(ns: string, name: string) {
  return (await admin('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).body;
}

describe('plan and apply --confirm --wait against a real cluster', () => {
  it('plans by dry run, writes nothing without --confirm, rolls out, and re-plans as unchanged', async () => {
    h = await Harness.create({ lanes: { a: {} }, followers: [{ name: 'one', lane: 'a' }], kubernetes: true });
    const ns = h.systemNamespace;

    const plan = await h.kubeCli('plan', '--scope', 'cluster');
    expect(plan.code).toBe(Exit.Ok);
    const planned = json(await h.kubeCli('plan', '--scope', 'cluster', '-o', 'json')).cluster.objects;
    expect(planned.map((o: { object: string; action: string }) => `${o.object} ${o.action}`)).toEqual([
      `Namespace/${ns} create`,
      `ServiceAccount/${ns}/branch-follower create`,
      `Role/${ns}/branch-follower-worker create`,
      `RoleBinding/${ns}/branch-follower-worker create`,
      `ConfigMap/${ns}/bf-registry create`,
      `ConfigMap/${ns}/bf-state create`,
      `Deployment/${ns}/bf-worker create`,
    ]);
    expect(plan.out).toMatch(/cluster \(context test\):\nOBJECT\s+ACTION\s+CHANGES/);

    const refused = await h.kubeCli('apply', '--scope', 'cluster');
    expect(refused.code).toBe(Exit.PendingChanges);
    expect((await admin('GET', `/api/v1/namespaces/${ns}`)).status).toBe(404);

    const applied = await h.kubeCli('apply', '--scope', 'cluster', '--confirm', '--wait');
    expect(applied.code, applied.err).toBe(Exit.Ok);
    expect(applied.err).toContain(`applied Deployment/${ns}/bf-worker`);
    expect(applied.err).toMatch(
      new RegExp(`deployment ${ns}/bf-worker: generation 1 .*available \\d/2 \\(\\d+s of 60s\\)`),
    ); // progress
    expect(applied.err).toMatch(
      new RegExp(`deployment ${ns}/bf-worker rolled out: 2/2 available in \\d+s \\(budget 60s`),
    );
    const d = await deployment(ns, 'bf-worker');
    expect(d.status).toMatchObject({ availableReplicas: 2, updatedReplicas: 2 });
    expect(
      d.metadata.managedFields.map((f: { manager: string; operation: string }) => `${f.manager}/${f.operation}`),
    ).toContain('branch-follower/Apply');
    const pods = (await admin('GET', `/api/v1/namespaces/${ns}/pods`)).body.items;
    expect(pods.map((p: any) => `${p.spec.nodeName} ${p.status.phase}`)).toEqual([
      'kwok-node-0 Running',
      'kwok-node-0 Running',
    ]);

    // The re-plan through the real bin: the compiled CLI, its Kubernetes client loaded on first use.
    const bin = await promisify(execFile)(process.execPath, [
      BIN,
      '--registry',
      h.registryFile,
      '--kubeconfig',
      kube.adminKubeconfig,
      'plan',
      '--scope',
      'cluster',
      '-o',
      'json',
    ]);
    const again = json({ out: bin.stdout }).cluster.objects;
    expect(again).toHaveLength(planned.length);
    expect(again.every((o: { action: string }) => o.action === 'unchanged')).toBe(true);
  });

  it("installs the webhook receiver's Service, which selects the worker's pods and targets their webhooks port", async () => {
    h = await Harness.create({
      lanes: { a: {} },
      followers: [{ name: 'one', lane: 'a' }],
      kubernetes: { env: { WEBHOOK_GITHUB: { secretKeyRef: { name: 'git-webhooks', key: 'github' } } } },
      webhooks: { listen: '0.0.0.0:9480', sources: { github: { kind: 'github', secretEnv: 'WEBHOOK_GITHUB' } } },
    });
    const ns = h.systemNamespace;
    const applied = await h.kubeCli('apply', '--scope', 'cluster', '--confirm', '--wait');
    expect(applied.code, applied.err).toBe(Exit.Ok);
    expect(applied.err).toContain(`applied Service/${ns}/bf-worker-webhooks`);
    const service = (await admin('GET', `/api/v1/namespaces/${ns}/services/bf-worker-webhooks`)).body;
    expect(service.spec.ports).toMatchObject([{ name: 'webhooks', port: 9480, targetPort: 'webhooks' }]);
    // The endpoints controller resolves the named port on the running pods: the Service reaches them.
    await until(
      async () => {
        const slices =
          (
            await admin(
              'GET',
              `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices?labelSelector=kubernetes.io/service-name=bf-worker-webhooks`,
            )
          ).body.items ?? [];
        return slices.some((s: any) => s.ports?.[0]?.port === 9480 && (s.endpoints ?? []).length === 2);
      },
      60_000,
      () => 'no endpoints with port 9480 for the webhooks Service',
    );
  });

  it("shows a changed image as a field diff, rolls it out, and leaves the followers' state keys alone", async () => {
    h = await Harness.create({ lanes: { a: {} }, followers: [{ name: 'one', lane: 'a' }], kubernetes: true });
    const ns = h.systemNamespace;
    expect((await h.kubeCli('apply', '--scope', 'cluster', '--confirm', '--wait')).code).toBe(Exit.Ok);
    // A follower's key, written as the worker writes it.
    const sa = accessWithToken(kube, await serviceAccountToken(kube, ns, 'branch-follower'), 'worker');
    expect(
      await projectState(
        sa,
        { namespace: ns, configMap: 'bf-state', follower: h.id('one'), entry: '{"phase":"Succeeded"}' },
        3,
      ),
    ).toEqual({ written: true, conflicts: 0 });

    const doc = YAML.parse(readFileSync(h.registryFile, 'utf8'));
    doc.controller.kubernetes.deployment.image = 'registry.example.com/platform/branch-follower:0.2.0';
    writeFileSync(h.registryFile, YAML.stringify(doc));
    const plan = await h.kubeCli('plan', '--scope', 'cluster', '--diff');
    expect(plan.out).toMatch(
      new RegExp(`Deployment/${ns}/bf-worker\\s+configure\\s+.*spec\\.template\\.spec\\.containers\\[0\\]\\.image`),
    );
    expect(plan.out).toMatch(
      new RegExp(`ConfigMap/${ns}/bf-registry\\s+configure\\s+data\\.cicd-branch-followers\\.yaml`),
    );
    expect(plan.out).toContain('-          image: registry.example.com/platform/branch-follower:0.1.0');
    expect(plan.out).toContain('+          image: registry.example.com/platform/branch-follower:0.2.0');
    expect(plan.out).toMatch(new RegExp(`ConfigMap/${ns}/bf-state\\s+unchanged`));

    const applied = await h.kubeCli('apply', '--scope', 'cluster', '--confirm', '--wait');
    expect(applied.code, applied.err).toBe(Exit.Ok);
    const d = await deployment(ns, 'bf-worker');
    expect(d.metadata.generation).toBe(2);
    expect(d.status).toMatchObject({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2, replicas: 2 });
    expect(d.spec.template.spec.containers[0].image).toBe('registry.example.com/platform/branch-follower:0.2.0');
    const state = (await admin('GET', `/api/v1/namespaces/${ns}/configmaps/bf-state`)).body;
    expect(state.data).toEqual({ [h.id('one')]: '{"phase":"Succeeded"}' });
  });

  it('fails --wait with the reason when the rollout cannot finish within its budget', async () => {
    h = await Harness.create({ lanes: { a: {} }, followers: [{ name: 'one', lane: 'a' }], kubernetes: true });
    expect((await h.kubeCli('apply', '--scope', 'cluster', '--confirm', '--wait')).code).toBe(Exit.Ok);
    // More CPU than the node has: the new pods stay Pending; the old ones keep serving (maxUnavailable 0).
    const doc = YAML.parse(readFileSync(h.registryFile, 'utf8'));
    doc.controller.kubernetes.deployment.resources.requests.cpu = '64';
    doc.controller.kubernetes.deployment.rollout.budget = '4s';
    writeFileSync(h.registryFile, YAML.stringify(doc));

    const res = await h.kubeCli('apply', '--confirm', '--wait');
    expect(res.code).toBe(Exit.Failed);
    // The budget is also the Deployment's progressDeadlineSeconds: whichever of the two notices first.
    const where = `deployment ${h.systemNamespace}/bf-worker`;
    expect(
      [
        `${where} not rolled out within its budget 4s (controller.kubernetes.deployment.rollout.budget)`,
        `${where} failed to roll out: ProgressDeadlineExceeded`,
      ].some((head) => res.err.includes(head)),
      res.err,
    ).toBe(true);
    expect(res.err).toMatch(/pod bf-worker-\S+: Pending \(Unschedulable: 0\/1 nodes are available: 1 Insufficient cpu/);
    expect(res.err).toMatch(
      /event Warning FailedScheduling Pod\/bf-worker-\S+: 0\/1 nodes are available: 1 Insufficient cpu/,
    );
    expect(res.err).toContain('followers were not applied');
    await expect(h.handle('one').describe()).rejects.toThrow(/not found/i);
    expect((await deployment(h.systemNamespace, 'bf-worker')).status.availableReplicas).toBe(2);
  });
});

describe("least privilege, proven with the worker's ServiceAccount token", () => {
  it('lets the worker do exactly what its followers need, in the namespaces they name', async () => {
    // Lanes live in a namespace of their own, named through a param.
    const lane = `lane-${randomBytes(4).toString('hex')}`;
    h = await Harness.create({
      lanes: { a: {} },
      followers: [
        {
          name: 'pipe',
          lane: 'a',
          yaml: {
            adapter: 'tekton',
            target: { configRef: 'lanes.yaml', params: { ns: lane } },
            closeout: { check: 'run-done' },
          },
        },
        { name: 'web', lane: 'a', yaml: { closeout: { check: 'web-rollout' } } },
      ],
      kubernetes: true,
      adapter: {
        checks: {
          ready: { kind: 'adapter-status' },
          'web-rollout': {
            kind: 'deployment-rollout',
            namespace: lane,
            name: 'web',
            revision: { annotation: 'example.com/sha' },
            retryable: false,
          },
        },
      },
      adapters: {
        tekton: {
          kind: 'tekton-pipelinerun',
          namespace: '{ns}',
          template: 'run.yaml',
          checks: { 'run-done': { kind: 'tekton-pipelinerun', retryable: false } },
        },
      },
      files: {
        'run.yaml':
          'apiVersion: tekton.dev/v1\nkind: PipelineRun\nspec:\n  pipelineRef: { name: build }\n  params: [{ name: revision, value: "{sha}" }]\n',
      },
    });
    await installCrd(kube, 'tekton.dev', 'pipelineruns', 'PipelineRun', 'v1', true);
    expect((await admin('POST', '/api/v1/namespaces', { metadata: { name: lane } })).status).toBe(201);
    const applied = await h.kubeCli('apply', '--scope', 'cluster', '--confirm');
    expect(applied.code, applied.err).toBe(Exit.Ok);
    const ns = h.systemNamespace;
    const roles = renderObjects(loadRegistry(h.registryFile)).filter((o) => o.kind === 'Role');
    expect(roles.map((r) => [r.metadata.namespace, r.rules])).toEqual([
      [ns, [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: ['bf-state'] }]],
      [
        lane,
        [
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['web'] },
          { apiGroups: ['tekton.dev'], resources: ['pipelineruns'], verbs: ['create', 'get', 'patch'] },
        ],
      ],
    ]);

    const token = await serviceAccountToken(kube, ns, 'branch-follower');
    const worker = accessWithToken(kube, token, 'worker');
    const asWorker = (method: string, p: string, body?: unknown) => kubeRequest(kube, token, method, p, body);
    // What the followers need: the state key, a PipelineRun in the lane, the named Deployment.
    expect(
      (await projectState(worker, { namespace: ns, configMap: 'bf-state', follower: 'x', entry: '{}' }, 3)).written,
    ).toBe(true);
    // Twenty followers writing at once: resourceVersion conflicts happen, are retried, and no key is lost.
    const writes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        projectState(worker, { namespace: ns, configMap: 'bf-state', follower: `f${i}`, entry: `{"n":${i}}` }, 50),
      ),
    );
    expect(writes.every((w) => w.written)).toBe(true);
    expect(writes.reduce((sum, w) => sum + w.conflicts, 0)).toBeGreaterThan(0);
    const data = (await admin('GET', `/api/v1/namespaces/${ns}/configmaps/bf-state`)).body.data;
    expect(Object.keys(data).sort()).toEqual(['x', ...Array.from({ length: 20 }, (_, i) => `f${i}`)].sort());
    const spec = loadRegistry(h.registryFile).followers[0]!.spec;
    const run = await triggerRun(
      worker,
      {
        follower: spec.id,
        branch: 'main',
        configRef: 'lanes.yaml',
        params: spec.target.params,
        adapter: spec.adapter as KubeAdapterSpec,
      },
      'a'.repeat(40),
      1,
    );
    expect(run).toMatchObject({ alreadyRunning: false, jobId: `${spec.id}-aaaaaaaa-1` });
    const check = loadRegistry(h.registryFile).followers[1]!.spec.closeout;
    expect(
      await objectCheck(worker, check as Extract<typeof check, { kind: 'deployment-rollout' }>, 'a'.repeat(40)),
    ).toMatchObject({ phase: 'Pending', message: `deployment ${lane}/web does not exist yet` });

    // Nothing more: no Secrets anywhere, no other ConfigMap, no other Deployment, nothing elsewhere.
    const forbidden = [
      ['GET', `/api/v1/namespaces/${ns}/secrets`],
      ['GET', `/api/v1/namespaces/${lane}/secrets`],
      ['GET', `/api/v1/namespaces/${ns}/configmaps/bf-registry`],
      ['POST', `/api/v1/namespaces/${ns}/configmaps`, { metadata: { name: 'x' } }],
      ['GET', `/apis/apps/v1/namespaces/${lane}/deployments/other`],
      ['DELETE', `/apis/tekton.dev/v1/namespaces/${lane}/pipelineruns/${run.jobId}`],
      ['POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'x' } }],
      ['GET', '/api/v1/namespaces/kube-system/secrets'],
      ['PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/bf-worker`, {}],
    ] as const;
    for (const [method, p, body] of forbidden) {
      const res = await asWorker(method, p, body);
      expect(`${method} ${p} → ${res.status}`).toBe(`${method} ${p} → 403`);
      expect(res.body.message).toContain(`system:serviceaccount:${ns}:branch-follower`);
    }
  });
});

describe('deploy/base: the kustomize base', () => {
  it('is the render of the shipped registry, and kubectl apply -k installs the same objects apply would', async () => {
    const registry = loadRegistry(DEFAULT_REGISTRY);
    const base = path.resolve(import.meta.dirname, '../../deploy/base');
    const expected = kustomizeFiles(registry, renderObjects(registry));
    expect(readdirSync(base).sort()).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected)
      expect(
        readFileSync(path.join(base, file), 'utf8'),
        `deploy/base/${file} is stale: run npm run deploy:render`,
      ).toBe(text);

    const { kubectl } = await ensureKubeTools(() => undefined);
    const out = await promisify(execFile)(
      kubectl,
      [
        '--kubeconfig',
        kube.adminKubeconfig,
        'apply',
        '--server-side',
        '--field-manager',
        'branch-follower',
        '-k',
        base,
      ],
      { encoding: 'utf8' },
    );
    expect(out.stdout).toContain('deployment.apps/branch-follower-worker serverside-applied');
    expect(out.stdout).toContain('service/branch-follower-worker-webhooks serverside-applied');
    const plan = await cliWithShippedRegistry('plan', '--scope', 'cluster', '-o', 'json');
    expect(plan.code, plan.err).toBe(Exit.Ok);
    const objects = JSON.parse(plan.out).cluster.objects as { object: string; action: string }[];
    expect(objects.map((o) => o.action)).toEqual(Array(renderObjects(registry).length).fill('unchanged'));
  });
});

async function cliWithShippedRegistry(...args: string[]) {
  const { main } = await import('../../client/cli.ts');
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--registry', DEFAULT_REGISTRY, '--kubeconfig', kube.adminKubeconfig, ...args], {
    out: (t) => out.push(t.text),
    err: (t) => err.push(t.text),
    color: false,
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
