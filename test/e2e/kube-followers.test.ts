// Followers that deploy and close out through Kubernetes objects, on the real control plane
// (Jobs and Deployments are run by kube-controller-manager, kube-scheduler and kwok; the tests
// play the Tekton and Argo CD controllers by writing the status those controllers would). The
// worker talks to the API server as its ServiceAccount, with the RBAC `apply` rendered for it.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { Exit } from '../../client/output.ts';
import { loadRegistry } from '../../config/registry.ts';
import { APP_DIR, renderObjects, type KubeObject } from '../../deploy/render.ts';
import { freePort } from '../../scripts/git-mirror.ts';
import { Harness, processOutput, type HarnessOptions, closingOut } from '../support/harness.ts';
import {
  accessWithToken,
  installCrd,
  kubeconfigYaml,
  kubeRequest,
  serviceAccountToken,
  until,
} from '../support/kube-cluster.ts';

const kube = inject('kube');
const admin = (method: string, p: string, body?: unknown, contentType?: string) =>
  kubeRequest(kube, kube.adminToken, method, p, body, contentType);
const mergePatch = (p: string, body: unknown) => admin('PATCH', p, body, 'application/merge-patch+json');

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

beforeAll(async () => {
  await installCrd(kube, 'tekton.dev', 'pipelineruns', 'PipelineRun', 'v1', true);
  await installCrd(kube, 'argoproj.io', 'applications', 'Application', 'v1alpha1', false);
});

const JOB_TEMPLATE = `apiVersion: batch/v1
kind: Job
spec:
  backoffLimit: 0
  template:
    metadata:
      labels: { app: deploy }
    spec:
      restartPolicy: Never
      containers:
        - name: deploy
          image: registry.example.com/deployer:1
          args: [deploy, --revision, "{sha}", --branch, "{branch}", --lane, "{lane}"]
`;
/** Pods that never schedule: the Job stays active (to be superseded) or hits its deadline. */
const stuckJob = (deadline?: number) =>
  JOB_TEMPLATE.replace(
    '  backoffLimit: 0\n',
    `  backoffLimit: 0\n${deadline ? `  activeDeadlineSeconds: ${deadline}\n` : ''}`,
  ).replace('      restartPolicy: Never\n', '      restartPolicy: Never\n      nodeSelector: { pool: none }\n');

const PIPELINERUN_TEMPLATE = `apiVersion: tekton.dev/v1
kind: PipelineRun
metadata:
  labels: { tekton.dev/pipeline: build }
spec:
  pipelineRef: { name: build-and-deploy }
  params:
    - { name: revision, value: "{sha}" }
    - { name: branch, value: "{branch}" }
`;

/** A world whose followers run Kubernetes adapters: the controller installed, the worker as its ServiceAccount. */
async function kubeWorld(opts: Omit<HarnessOptions, 'kubernetes'> & { lane: string }): Promise<Harness> {
  const world = await Harness.create({ ...opts, kubernetes: true });
  expect((await admin('POST', '/api/v1/namespaces', { metadata: { name: opts.lane } })).status).toBe(201);
  const applied = await world.kubeCli('apply', '--scope', 'cluster', '--confirm');
  expect(applied.code, applied.err).toBe(Exit.Ok);
  const token = await serviceAccountToken(kube, world.systemNamespace, 'branch-follower');
  world.workerKube = accessWithToken(kube, token, 'worker');
  writeFileSync(
    path.join(world.dir, 'worker.kubeconfig'),
    kubeconfigYaml({ server: kube.server, ca: kube.ca, token, user: 'worker' }),
  );
  return world;
}

const ROOT = path.resolve(import.meta.dirname, '../..');
const lane = () => `lane-${randomBytes(4).toString('hex')}`;
const list = async (p: string) => (await admin('GET', p)).body.items as any[];

describe('built-in adapter: kubernetes-job', () => {
  it('creates one Job per sha from the template, closes out on its Complete condition, and deletes a superseded one', async () => {
    const ns = lane();
    h = await kubeWorld({
      lane: ns,
      lanes: { a: {} },
      followers: [
        { name: 'app', lane: 'a', yaml: { adapter: 'job', closeout: { check: 'job-done' } } },
        { name: 'stuck', lane: 'a', branch: 'stuck', yaml: { adapter: 'stuck-job', closeout: { check: 'job-done' } } },
      ],
      adapters: {
        job: {
          kind: 'kubernetes-job',
          namespace: ns,
          template: 'job.yaml',
          checks: { 'job-done': { kind: 'kubernetes-job', retryable: false } },
        },
        'stuck-job': {
          kind: 'kubernetes-job',
          namespace: ns,
          template: 'stuck-job.yaml',
          checks: { 'job-done': { kind: 'kubernetes-job', retryable: false } },
        },
      },
      files: { 'job.yaml': JOB_TEMPLATE, 'stuck-job.yaml': stuckJob() },
    });
    await h.startWorker();
    await h.startFollowers();

    // The real Job controller runs the Job; kwok completes its pod.
    const first = await h.waitFor(
      'app',
      'first sha deployed',
      (v) => v.phase === 'Succeeded' && Boolean(v.lastSucceededSha),
    );
    const jobs = await list(`/apis/batch/v1/namespaces/${ns}/jobs`);
    const appJob = jobs.find((j) => j.metadata.labels['branch-follower.dev/follower'] === h!.id('app'));
    expect(appJob.metadata.name).toBe(`${h.id('app')}-${first.lastSucceededSha!.slice(0, 8)}-1`);
    expect(appJob.metadata.annotations['branch-follower.dev/sha']).toBe(first.lastSucceededSha);
    expect(appJob.spec.template.spec.containers[0].args).toEqual([
      'deploy',
      '--revision',
      first.lastSucceededSha,
      '--branch',
      'main',
      '--lane',
      'a',
    ]);
    expect(appJob.status.conditions.some((c: any) => c.type === 'Complete' && c.status === 'True')).toBe(true);

    const next = h.push('main', 'second');
    await h.waitFor('app', 'second sha deployed', (v) => v.lastSucceededSha === next);
    const appJobs = (await list(`/apis/batch/v1/namespaces/${ns}/jobs`)).filter(
      (j) => j.metadata.labels['branch-follower.dev/follower'] === h!.id('app'),
    );
    expect(appJobs.map((j) => j.metadata.annotations['branch-follower.dev/sha']).sort()).toEqual(
      [first.lastSucceededSha, next].sort(),
    );

    // Supersede: the stuck follower's Job never finishes; a push replaces it and the old Job is deleted.
    const stuck = await h.waitFor(
      'stuck',
      'job in flight',
      (v) => v.phase === 'ClosingOut' && Boolean(closingOut(v)?.jobId),
    );
    const oldJob = closingOut(stuck)!.jobId!;
    const moved = h.push('stuck', 'move on');
    await h.waitFor('stuck', 'new job in flight', (v) => closingOut(v)?.sha === moved && Boolean(closingOut(v)!.jobId));
    await until(
      async () => (await admin('GET', `/apis/batch/v1/namespaces/${ns}/jobs/${oldJob}`)).status === 404,
      30_000,
      () => `superseded Job ${oldJob} was not deleted`,
    );
    expect((await h.state('stuck')).shas.find((r) => r.sha === closingOut(stuck)!.sha)).toMatchObject({
      result: { outcome: 'Superseded', by: moved },
    });

    // logs: the run's pods, through the operator's access (kwok runs no containers, so there are no logs to read).
    const logs = await h.kubeCli('logs', '--follower', h.id('stuck'));
    expect(logs.out).toMatch(
      new RegExp(`# pod ${ns}/${h.id('stuck')}-${moved.slice(0, 8)}-1-\\S+ container deploy \\(Pending\\)`),
    );
  });

  it("fails the sha with the Job's own reason when the Job fails", async () => {
    const ns = lane();
    h = await kubeWorld({
      lane: ns,
      lanes: { a: {} },
      followers: [{ name: 'app', lane: 'a', yaml: { adapter: 'job', closeout: { check: 'job-done' } } }],
      adapters: {
        job: {
          kind: 'kubernetes-job',
          namespace: ns,
          template: 'job.yaml',
          checks: { 'job-done': { kind: 'kubernetes-job', retryable: false } },
        },
      },
      files: { 'job.yaml': stuckJob(2) },
    });
    await h.startWorker();
    await h.startFollowers();
    const failed = await h.waitFor('app', 'failed', (v) => v.phase === 'Failed');
    expect(failed.lastError).toMatchObject({ code: 'RuntimeFailed' });
    expect(failed.lastError!.message).toMatch(
      /^Job \S+ failed: DeadlineExceeded: Job was active longer than specified deadline/,
    );
    expect(failed.work).toBeUndefined(); // terminal: no retry waits
  });
});

describe('built-in adapter: tekton-pipelinerun', () => {
  it('creates a PipelineRun with the sha as a param, closes out on Succeeded, and cancels a superseded run', async () => {
    const ns = lane();
    h = await kubeWorld({
      lane: ns,
      lanes: { a: {} },
      followers: [{ name: 'app', lane: 'a', yaml: { adapter: 'tekton', closeout: { check: 'run-done' } } }],
      adapters: {
        tekton: {
          kind: 'tekton-pipelinerun',
          namespace: ns,
          template: 'run.yaml',
          checks: { 'run-done': { kind: 'tekton-pipelinerun', retryable: true } },
        },
      },
      files: { 'run.yaml': PIPELINERUN_TEMPLATE },
    });
    await h.startWorker();
    await h.startFollowers();
    const runs = `/apis/tekton.dev/v1/namespaces/${ns}/pipelineruns`;

    const first = await h.waitFor(
      'app',
      'run in flight',
      (v) => v.phase === 'ClosingOut' && Boolean(closingOut(v)?.jobId),
    );
    const run1 = (await admin('GET', `${runs}/${closingOut(first)!.jobId}`)).body;
    expect(run1.spec.params).toEqual([
      { name: 'revision', value: closingOut(first)!.sha },
      { name: 'branch', value: 'main' },
    ]);
    expect(run1.metadata.labels).toMatchObject({
      'tekton.dev/pipeline': 'build',
      'branch-follower.dev/follower': h.id('app'),
    });

    // The branch moves while run 1 is running: it is cancelled the way Tekton expects.
    const moved = h.push('main', 'newer');
    const second = await h.waitFor(
      'app',
      'second run in flight',
      (v) => closingOut(v)?.sha === moved && Boolean(closingOut(v)!.jobId),
    );
    await until(
      async () => (await admin('GET', `${runs}/${run1.metadata.name}`)).body.spec.status === 'Cancelled',
      30_000,
      () => 'run 1 was not cancelled',
    );

    // Playing Tekton: run 2 fails once (retryable), then its retry succeeds.
    const run2 = closingOut(second)!.jobId!;
    await mergePatch(`${runs}/${run2}/status`, {
      status: {
        conditions: [
          { type: 'Succeeded', status: 'False', reason: 'Failed', message: 'Tasks Completed: 1 (Failed: 1)' },
        ],
      },
    });
    const retry = await h.waitFor(
      'app',
      'retry run',
      (v) => closingOut(v)?.sha === moved && closingOut(v)!.attempt === 2 && Boolean(closingOut(v)!.jobId),
    );
    expect(closingOut(retry)!.jobId).toBe(`${h.id('app')}-${moved.slice(0, 8)}-2`);
    expect(
      (await h.events('app')).some(
        (e) => e.to === 'Failed' && e.message.includes(`PipelineRun ${run2}: Failed: Tasks Completed: 1 (Failed: 1)`),
      ),
    ).toBe(true);
    await mergePatch(`${runs}/${closingOut(retry)!.jobId}/status`, {
      status: {
        conditions: [{ type: 'Succeeded', status: 'True', reason: 'Succeeded', message: 'Tasks Completed: 2' }],
      },
    });
    await h.waitFor('app', 'deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === moved);
    expect((await list(runs)).length).toBe(3);
    h.recordHistory('app', 'kube-tekton-supersede-retry');
  });
});

describe('close-out checks that read runtime objects', () => {
  it('deployment-rollout: succeeds when the Deployment is on the sha (annotation or image tag) and rolled out (by the real controllers)', async () => {
    const ns = lane();
    h = await kubeWorld({
      lane: ns,
      lanes: { a: {}, b: {} },
      followers: [
        { name: 'web', lane: 'a', yaml: { adapter: 'job', closeout: { check: 'web-rollout' } } },
        { name: 'api', lane: 'b', yaml: { adapter: 'job', closeout: { check: 'api-rollout' } } },
      ],
      adapters: {
        job: {
          kind: 'kubernetes-job',
          namespace: ns,
          template: 'job.yaml',
          checks: {
            'web-rollout': {
              kind: 'deployment-rollout',
              namespace: ns,
              name: 'web',
              revision: { annotation: 'example.com/git-sha' },
              retryable: false,
            },
            'api-rollout': {
              kind: 'deployment-rollout',
              namespace: ns,
              name: 'api',
              revision: { imageTag: { container: 'api' } },
              retryable: false,
            },
          },
        },
      },
      files: { 'job.yaml': stuckJob() },
    });
    const deploymentOf = (name: string, template: object) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, ...template },
      },
    });
    const web = deploymentOf('web', {
      metadata: { labels: { app: 'web' }, annotations: { 'example.com/git-sha': 'none' } },
      spec: { containers: [{ name: 'web', image: 'web:1' }] },
    });
    const api = deploymentOf('api', {
      spec: {
        containers: [
          { name: 'sidecar', image: 'registry.example.com/proxy:1.2' },
          { name: 'api', image: 'registry.example.com:5000/api:old' },
        ],
      },
    });
    for (const d of [web, api])
      expect((await admin('POST', `/apis/apps/v1/namespaces/${ns}/deployments`, d)).status).toBe(201);
    await h.startWorker();
    await h.startFollowers();

    // Image tag: the api container's tag must carry the sha (its first 7 characters, as CI tags go).
    const apiClosing = await h.waitFor(
      'api',
      'closing out',
      (v) => v.phase === 'ClosingOut' && Boolean(closingOut(v)?.runtime?.message),
    );
    const apiSha = closingOut(apiClosing)!.sha;
    expect(closingOut(apiClosing)!.runtime?.message).toBe(
      `deployment ${ns}/api is on old; waiting for ${apiSha.slice(0, 12)}`,
    );
    await mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/api`, {
      spec: {
        template: {
          spec: {
            containers: [
              { name: 'sidecar', image: 'registry.example.com/proxy:1.2' },
              { name: 'api', image: `registry.example.com:5000/api:build-${apiSha.slice(0, 7)}` },
            ],
          },
        },
      },
    });
    expect((await h.waitFor('api', 'rolled out', (v) => v.phase === 'Succeeded')).lastSucceededSha).toBe(apiSha);

    const closing = await h.waitFor(
      'web',
      'closing out',
      (v) => v.phase === 'ClosingOut' && Boolean(closingOut(v)?.runtime?.message),
    );
    expect(closingOut(closing)!.runtime?.message).toBe(
      `deployment ${ns}/web is on none; waiting for ${closingOut(closing)!.sha.slice(0, 12)}`,
    );
    // Playing the GitOps tool the Job would drive: the pod template moves to the sha.
    await mergePatch(`/apis/apps/v1/namespaces/${ns}/deployments/web`, {
      spec: { template: { metadata: { annotations: { 'example.com/git-sha': closingOut(closing)!.sha } } } },
    });
    const done = await h.waitFor('web', 'rolled out', (v) => v.phase === 'Succeeded');
    expect(done.lastSucceededSha).toBe(closingOut(closing)!.sha);
    const d = (await admin('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`)).body;
    expect(d.status).toMatchObject({ observedGeneration: 2, updatedReplicas: 2, availableReplicas: 2 });
  });

  it('argocd-application: succeeds on Synced + Healthy at the sha, fails on Degraded', async () => {
    const ns = lane();
    h = await kubeWorld({
      lane: ns,
      lanes: { a: {}, b: {} },
      followers: [
        { name: 'ok', lane: 'a', yaml: { closeout: { check: 'app-ok' } } },
        { name: 'bad', lane: 'b', branch: 'bad', yaml: { closeout: { check: 'app-bad' } } },
      ],
      adapter: {
        checks: {
          ready: { kind: 'adapter-status' },
          'app-ok': { kind: 'argocd-application', namespace: ns, name: 'ok', retryable: false },
          'app-bad': { kind: 'argocd-application', namespace: ns, name: 'bad', retryable: false },
        },
      },
    });
    for (const name of ['ok', 'bad']) {
      const app = {
        apiVersion: 'argoproj.io/v1alpha1',
        kind: 'Application',
        metadata: { name },
        spec: { project: 'default' },
        status: { sync: { status: 'Synced', revision: 'f'.repeat(40) }, health: { status: 'Healthy' } },
      };
      expect((await admin('POST', `/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications`, app)).status).toBe(201);
    }
    await h.startWorker();
    await h.startFollowers();

    // The demo adapter triggers; Argo CD (played here) syncs the Application to the sha.
    const ok = await h.waitFor('ok', 'closing out', (v) => v.phase === 'ClosingOut');
    const waiting = await h.waitFor('ok', 'waiting for argo', (v) => Boolean(closingOut(v)?.runtime?.message));
    expect(closingOut(waiting)!.runtime?.message).toContain(
      `application ${ns}/ok is at ffffffffffff (Synced, Healthy); waiting for`,
    );
    await mergePatch(`/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications/ok`, {
      status: { sync: { status: 'OutOfSync', revision: closingOut(ok)!.sha }, health: { status: 'Progressing' } },
    });
    await mergePatch(`/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications/ok`, {
      status: { sync: { status: 'Synced' }, health: { status: 'Healthy' } },
    });
    expect((await h.waitFor('ok', 'synced', (v) => v.phase === 'Succeeded')).lastSucceededSha).toBe(
      closingOut(ok)!.sha,
    );

    const bad = await h.waitFor('bad', 'closing out', (v) => v.phase === 'ClosingOut');
    await mergePatch(`/apis/argoproj.io/v1alpha1/namespaces/${ns}/applications/bad`, {
      status: {
        sync: { status: 'Synced', revision: closingOut(bad)!.sha },
        health: { status: 'Degraded', message: 'Deployment "api" exceeded its progress deadline' },
      },
    });
    const failed = await h.waitFor('bad', 'failed', (v) => v.phase === 'Failed');
    expect(failed.lastError).toMatchObject({
      code: 'RuntimeFailed',
      message: `application ${ns}/bad Degraded: Deployment "api" exceeded its progress deadline`,
    });
  });
});

describe('state projection', () => {
  it("writes each follower's compact state as its own key, concurrently and without losing any, never a secret; a failed write is tried again", async () => {
    const ns = lane();
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    h = await kubeWorld({
      lane: ns,
      lanes: Object.fromEntries(names.map((n) => [n, { deployMs: 200 }])),
      followers: names.map((n) => ({ name: n, lane: n })),
    });
    await h.startWorker();
    await h.startFollowers();
    const states = await Promise.all(names.map((n) => h!.waitFor(n, 'deployed', (v) => v.phase === 'Succeeded')));
    const cm = `/api/v1/namespaces/${h.systemNamespace}/configmaps/bf-state`;
    await until(
      async () => {
        const data = ((await admin('GET', cm)).body.data ?? {}) as Record<string, string>;
        return names.every(
          (n, i) => JSON.parse(data[h!.id(n)] ?? '{}').lastSucceededSha === states[i]!.lastSucceededSha,
        );
      },
      30_000,
      () => 'not every follower projected its Succeeded state',
    );
    const data = (await admin('GET', cm)).body.data as Record<string, string>;
    expect(Object.keys(data).sort()).toEqual(names.map((n) => h!.id(n)).sort());
    const entry = JSON.parse(data[h.id('a')]!);
    expect(entry).toMatchObject({
      phase: 'Succeeded',
      observedSha: states[0]!.observedSha,
      targetSha: states[0]!.targetSha,
      lastTriggeredSha: states[0]!.lastTriggeredSha,
    });
    expect(Object.keys(entry).sort()).toEqual([
      'code',
      'lastSucceededSha',
      'lastTriggeredSha',
      'message',
      'observedSha',
      'phase',
      'since',
      'targetSha',
    ]);
    expect((await h.state('a')).projection).toMatchObject({ ok: true });
    expect(JSON.stringify(data)).not.toContain('DEMO_TOKEN');

    // status reads the same ConfigMap, and the worker Deployment, through the operator's access.
    const status = await h.kubeCli('status');
    expect(status.out).toMatch(
      new RegExp(
        `cluster \\(context test\\): deployment ${h.systemNamespace}/bf-worker (rolled out|rolling out): \\d/2 updated, \\d/2 available.*; state ConfigMap ${h.systemNamespace}/bf-state: 6 follower\\(s\\) projected`,
      ),
    );
    expect((await h.cli('status')).out).toMatch(/cluster: not checked \(no Kubernetes configuration|cluster \(context/);

    // A failed write is tried again on the follower's next iteration, not only when its state changes.
    expect((await admin('DELETE', cm)).status).toBe(200);
    const next = h.push('main', 'while the ConfigMap is gone');
    const unwritten = await h.waitFor(
      'a',
      'projection failing',
      (v) => v.lastSucceededSha === next && v.projection?.ok === false,
    );
    expect(unwritten.projection?.message).toContain('does not exist');
    expect(
      (await admin('POST', `/api/v1/namespaces/${h.systemNamespace}/configmaps`, { metadata: { name: 'bf-state' } }))
        .status,
    ).toBe(201);
    await h.waitFor('a', 'projection written again', (v) => v.projection?.ok === true);
    expect(
      JSON.parse(((await admin('GET', cm)).body.data as Record<string, string>)[h.id('a')]!).lastSucceededSha,
    ).toBe(next);
    expect((await h.state('a')).lastSucceededSha).toBe(next);
    h.recordHistory('a', 'kube-projection-retry');
  });
});

describe('two worker replicas', () => {
  it('never create a second Job for a sha, even when one of them is killed mid-flight', async () => {
    const ns = lane();
    const followers = ['x', 'y', 'z'];
    h = await kubeWorld({
      lane: ns,
      lanes: { a: {} },
      followers: followers.map((n) => ({
        name: n,
        lane: 'a',
        branch: n,
        yaml: { adapter: 'job', closeout: { check: 'job-done' } },
      })),
      adapters: {
        job: {
          kind: 'kubernetes-job',
          namespace: ns,
          template: 'job.yaml',
          checks: { 'job-done': { kind: 'kubernetes-job', retryable: false } },
        },
      },
      files: { 'job.yaml': JOB_TEMPLATE },
    });
    const env = { BRANCH_FOLLOWER_KUBECONFIG: path.join(h.dir, 'worker.kubeconfig') };
    const health = `127.0.0.1:${await freePort()}`;
    const workers = [h.spawnWorker({ env }), h.spawnWorker({ env: { ...env, BRANCH_FOLLOWER_HEALTH_LISTEN: health } })];
    await until(
      async () => (await fetch(`http://${health}/readyz`)).status === 200,
      60_000,
      () => `worker never ready: ${processOutput(workers[1]!)}`,
    );
    expect(await (await fetch(`http://${health}/healthz`)).text()).toBe('RUNNING\n');
    await h.startFollowers();
    const deployed: Record<string, string[]> = Object.fromEntries(followers.map((n) => [n, []]));
    for (let round = 0; round < 4; round++) {
      for (const n of followers) {
        const sha =
          round === 0
            ? (await h.waitFor(n, 'first deploy', (v) => v.phase === 'Succeeded')).lastSucceededSha!
            : h.push(n, `round ${round}`);
        deployed[n]!.push(sha);
      }
      if (round === 2) workers[0]!.kill('SIGKILL'); // the other replica carries on
      for (const n of followers)
        await h.waitFor(n, `round ${round} deployed`, (v) => v.lastSucceededSha === deployed[n]!.at(-1), 90_000);
    }
    const jobs = await list(`/apis/batch/v1/namespaces/${ns}/jobs`);
    for (const n of followers) {
      const mine = jobs
        .filter((j) => j.metadata.labels['branch-follower.dev/follower'] === h!.id(n))
        .map((j) => j.metadata.annotations['branch-follower.dev/sha']);
      expect(mine.sort(), `${n}: one Job per sha`).toEqual([...deployed[n]!].sort());
    }
    expect(processOutput(workers[1]!)).toContain(`kubernetes: kubeconfig ${env.BRANCH_FOLLOWER_KUBECONFIG}`);
  });
});

describe('the rendered worker container', () => {
  it('runs as its pod would: the rendered command, working directory, environment and mounted registry files', async () => {
    const ns = lane();
    h = await kubeWorld({ lane: ns, lanes: { a: { deployMs: 100 } }, followers: [{ name: 'app', lane: 'a' }] });
    const objects = renderObjects(loadRegistry(h.registryFile));
    const registryMap = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'bf-registry',
    ) as KubeObject & { data: Record<string, string> };
    const pod = (objects.find((o) => o.kind === 'Deployment') as any).spec.template.spec;
    const c = pod.containers[0];

    // The image is this repository at /app; here a directory of links to it stands in, and the
    // registry volume's files are written where the container mounts them.
    const root = mkdtempSync(path.join(os.tmpdir(), 'bf-pod-'));
    const app = path.join(root, 'app');
    mkdirSync(path.join(app, 'config'), { recursive: true });
    mkdirSync(path.join(root, 'work'));
    for (const entry of readdirSync(ROOT))
      if (!['config', 'dist', '.git', '.data'].includes(entry))
        symlinkSync(path.join(ROOT, entry), path.join(app, entry));
    // The image's build step: the compiled worker, and the workflow bundle prebuilt beside it (the suite's own).
    mkdirSync(path.join(app, 'dist'));
    for (const entry of readdirSync(path.join(ROOT, 'dist')))
      if (entry !== 'workflows.js') symlinkSync(path.join(ROOT, 'dist', entry), path.join(app, 'dist', entry));
    copyFileSync(inject('workflowBundlePath'), path.join(app, 'dist', 'workflows.js'));
    for (const entry of readdirSync(path.join(ROOT, 'config')))
      if (entry.endsWith('.ts')) symlinkSync(path.join(ROOT, 'config', entry), path.join(app, 'config', entry));
    const items = pod.volumes.find((v: any) => v.name === 'registry').configMap.items as {
      key: string;
      path: string;
    }[];
    for (const m of c.volumeMounts.filter((v: any) => v.name === 'registry')) {
      const file = path.join(app, path.relative(APP_DIR, m.mountPath));
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, registryMap.data[items.find((i) => i.path === m.subPath)!.key]!);
    }
    const inPod = (v: string) => v.replace(/^\/app(?=\/|$)/, app).replace(/^\/work(?=\/|$)/, path.join(root, 'work'));
    const health = `127.0.0.1:${await freePort()}`;
    const env: Record<string, string> = {
      PATH: process.env.PATH!,
      BRANCH_FOLLOWER_KUBECONFIG: path.join(h.dir, 'worker.kubeconfig'),
    }; // the kubeconfig stands in for the mounted ServiceAccount
    for (const e of c.env as { name: string; value?: string; valueFrom?: unknown }[]) {
      env[e.name] = e.valueFrom
        ? `secret-of-${e.name}`
        : e.name === 'BRANCH_FOLLOWER_HEALTH_LISTEN'
          ? health
          : inPod(e.value!);
    }
    expect(c.command.slice(0, 1)).toEqual(['node']);
    const worker = spawn(process.execPath, c.command.slice(1), {
      cwd: inPod(c.workingDir),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    worker.stdout.on('data', (d: Buffer) => (output += d.toString()));
    worker.stderr.on('data', (d: Buffer) => (output += d.toString()));
    try {
      await until(
        async () => (await fetch(`http://${health}/readyz`)).status === 200,
        120_000,
        () => `the container never became ready:\n${output}`,
      );
      expect(output).toContain(
        `registry ${path.join(app, 'config', 'cicd-branch-followers.yaml')}; kubernetes: kubeconfig`,
      );
      await h.startFollowers();
      const done = await h.waitFor('app', 'deployed by the container', (v) => v.phase === 'Succeeded');
      expect(h.triggers().map((t) => t.sha)).toEqual([done.lastSucceededSha]);
      const projected = async () =>
        JSON.parse(
          ((await admin('GET', `/api/v1/namespaces/${h!.systemNamespace}/configmaps/bf-state`)).body.data ?? {})[
            h!.id('app')
          ] ?? '{}',
        );
      await until(
        async () => (await projected()).phase === 'Succeeded',
        30_000,
        () => 'the container did not project the follower state',
      );
    } finally {
      worker.kill('SIGTERM');
      const code = await new Promise((r) => worker.once('exit', (c) => r(c)));
      expect(code, output).toBe(0);
      rmSync(root, { recursive: true, force: true });
    }
  });
});
