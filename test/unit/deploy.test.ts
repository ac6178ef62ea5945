// The rendered controller (pure): least-privilege rules derived from the registry, the worker
// Deployment's hardening, Secret references instead of values, and the pieces plan uses.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { changedPaths } from '../../client/cluster.ts';
import { DEFAULT_REGISTRY, loadRegistry } from '../../config/registry.ts';
import { renderObjects, RenderError, type KubeObject } from '../../deploy/render.ts';
import { BUILD_INPUTS } from '../../scripts/build.mjs';
import { NODE_LTS_VERSION } from '../../scripts/tools.ts';
import { temporalSecurity } from '../../worker/connection.ts';
import { projectionEntry } from '../../workflows/projection.ts';
import { initialState, reduce } from '../../core/decide.ts';
import { makeSpec, sha } from '../support/spec.ts';
import { tempDir } from '../support/temp-dir.ts';

const shipped = () => loadRegistry(DEFAULT_REGISTRY);
const find = (objects: KubeObject[], kind: string, namespace?: string) =>
  objects.filter((o) => o.kind === kind && (!namespace || o.metadata.namespace === namespace));

/** The shipped registry, edited, with extra files, in a temp dir. */
function registryWith(edit: (doc: any) => void, files: Record<string, string> = {}) {
  const dir = tempDir('bf-deploy-');
  const doc = YAML.parse(readShipped());
  edit(doc);
  for (const [rel, text] of Object.entries({ 'lanes.yaml': 'lanes: {}\n', ...files }))
    writeFileSync(path.join(dir, rel), text);
  for (const f of doc.followers) f.target.configRef = 'lanes.yaml';
  delete doc.controller.embedded;
  writeFileSync(path.join(dir, 'registry.yaml'), YAML.stringify(doc));
  return loadRegistry(path.join(dir, 'registry.yaml'));
}
const readShipped = () => shipped().text;

describe('render: the worker Deployment', () => {
  const objects = renderObjects(shipped());
  const deployment = find(objects, 'Deployment')[0] as any;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];

  it('runs as non-root with a read-only root filesystem, no privilege escalation, no capabilities', () => {
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(container.resources).toEqual({ requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    expect(
      Object.keys(container)
        .filter((k) => k.endsWith('Probe'))
        .sort(),
    ).toEqual(['livenessProbe', 'readinessProbe', 'startupProbe']);
  });

  it('mounts only an EmptyDir workdir and the registry files, read-only; never a host path', () => {
    expect(pod.volumes.map((v: any) => Object.keys(v).filter((k) => k !== 'name')[0])).toEqual([
      'emptyDir',
      'configMap',
    ]);
    expect(JSON.stringify(pod)).not.toContain('hostPath');
    const registryMounts = container.volumeMounts.filter((m: any) => m.name === 'registry');
    expect(registryMounts.map((m: any) => [m.mountPath, m.subPath, m.readOnly])).toEqual([
      ['/app/config/cicd-branch-followers.yaml', 'cicd-branch-followers.yaml', true],
      ['/app/config/hwlab-node-lanes.yaml', 'hwlab-node-lanes.yaml', true],
      ['/app/config/agentrun.yaml', 'agentrun.yaml', true],
      ['/app/config/hwlab-web-probe-sentinel/jd01.yaml', 'hwlab-web-probe-sentinel/jd01.yaml', true],
    ]);
    expect(pod.volumes[1].configMap.items).toContainEqual({
      key: 'hwlab-web-probe-sentinel__jd01.yaml',
      path: 'hwlab-web-probe-sentinel/jd01.yaml',
    });
  });

  it('takes adapter secrets from Secret references, never values, and rolls when the registry changes', () => {
    expect(container.env.filter((e: any) => e.valueFrom)).toEqual([
      { name: 'HWLAB_TOKEN', valueFrom: { secretKeyRef: { name: 'hwlab-cli', key: 'token' } } },
      { name: 'AGENTRUN_API_KEY', valueFrom: { secretKeyRef: { name: 'agentrun-cli', key: 'apiKey' } } },
      {
        name: 'BRANCH_FOLLOWER_WEBHOOK_GITHUB',
        valueFrom: { secretKeyRef: { name: 'git-webhooks', key: 'github' } },
      },
      {
        name: 'BRANCH_FOLLOWER_EVENTS_URL',
        valueFrom: { secretKeyRef: { name: 'branch-follower-events', key: 'url' } },
      },
      {
        name: 'BRANCH_FOLLOWER_FINGERPRINT_KEY',
        valueFrom: { secretKeyRef: { name: 'branch-follower-fingerprint', key: 'key' } },
      },
    ]);
    const changed = registryWith((d) => (d.defaults.pollInterval = '20s'));
    const before = deployment.spec.template.metadata.annotations['branch-follower.dev/registry-sha256'];
    const after = (find(renderObjects(changed), 'Deployment')[0] as any).spec.template.metadata.annotations[
      'branch-follower.dev/registry-sha256'
    ];
    expect(after).toMatch(/^[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
    expect(deployment.spec.progressDeadlineSeconds).toBe(180);
  });

  it('reaches Temporal over mTLS and with an API key from Secret references when the registry asks', () => {
    const reg = registryWith((d) => {
      d.controller.temporal.tls = { secretRef: { name: 'temporal-client' }, serverName: 'temporal.example.com' };
      d.controller.temporal.apiKey = { secretRef: { name: 'temporal-cloud', key: 'apiKey' } };
    });
    const pod2 = (find(renderObjects(reg), 'Deployment')[0] as any).spec.template.spec;
    expect(pod2.volumes).toContainEqual({ name: 'temporal-tls', secret: { secretName: 'temporal-client' } });
    expect(pod2.containers[0].env).toEqual(
      expect.arrayContaining([
        { name: 'BRANCH_FOLLOWER_TEMPORAL_TLS_DIR', value: '/etc/branch-follower/temporal-tls' },
        {
          name: 'BRANCH_FOLLOWER_TEMPORAL_API_KEY',
          valueFrom: { secretKeyRef: { name: 'temporal-cloud', key: 'apiKey' } },
        },
      ]),
    );
  });

  it('refuses to render a registry without controller.kubernetes, saying what to add', () => {
    const reg = registryWith((d) => delete d.controller.kubernetes);
    expect(() => renderObjects(reg)).toThrow(RenderError);
  });
});

describe('render: least privilege from what the followers use', () => {
  it('grants the shipped (command-adapter) followers only their state ConfigMap', () => {
    const roles = find(renderObjects(shipped()), 'Role');
    expect(roles.map((r) => [r.metadata.namespace, r.rules])).toEqual([
      [
        'branch-follower',
        [
          {
            apiGroups: [''],
            resources: ['configmaps'],
            verbs: ['get', 'update'],
            resourceNames: ['branch-follower-state'],
          },
        ],
      ],
    ]);
  });

  it('adds per-namespace rules for built-in adapters and object checks, merging names and skipping disabled followers', () => {
    const job = 'apiVersion: batch/v1\nkind: Job\nspec: {}\n';
    const reg = registryWith(
      (d) => {
        d.adapters.jobs = {
          kind: 'kubernetes-job',
          namespace: 'lanes',
          template: 'job.yaml',
          checks: {
            web: {
              kind: 'deployment-rollout',
              namespace: 'lanes',
              name: '{app}',
              revision: { annotation: 'x/sha' },
              retryable: false,
            },
            argo: { kind: 'argocd-application', namespace: 'argocd', name: '{app}', retryable: false },
          },
        };
        const base = {
          enabled: true,
          adapter: 'jobs',
          source: d.followers[0].source,
          target: { configRef: 'lanes.yaml', params: { app: 'web' } },
        };
        d.followers.push({ ...base, id: 'web-a', closeout: { check: 'web' } });
        d.followers.push({
          ...base,
          id: 'web-b',
          target: { configRef: 'lanes.yaml', params: { app: 'api' } },
          closeout: { check: 'web' },
        });
        d.followers.push({ ...base, id: 'argo', closeout: { check: 'argo' } });
        d.followers.push({
          ...base,
          id: 'off',
          enabled: false,
          target: { configRef: 'lanes.yaml', params: { app: 'secret-app' } },
          closeout: { check: 'argo' },
        });
      },
      { 'job.yaml': job },
    );
    const objects = renderObjects(reg);
    expect(find(objects, 'Role').map((r) => [r.metadata.namespace, r.rules])).toEqual([
      [
        'branch-follower',
        [
          {
            apiGroups: [''],
            resources: ['configmaps'],
            verbs: ['get', 'update'],
            resourceNames: ['branch-follower-state'],
          },
        ],
      ],
      ['argocd', [{ apiGroups: ['argoproj.io'], resources: ['applications'], verbs: ['get'], resourceNames: ['web'] }]],
      [
        'lanes',
        [
          { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'], resourceNames: ['api', 'web'] },
          { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'delete', 'get'] },
        ],
      ],
    ]);
    const binding = find(objects, 'RoleBinding', 'lanes')[0] as any;
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'branch-follower', namespace: 'branch-follower' },
    ]);
    expect(JSON.stringify(objects)).not.toMatch(/"secrets"|"\*"|ClusterRole/);
  });
});

describe('plan: what changed between live and applied', () => {
  it('names leaf paths, array elements included', () => {
    expect(changedPaths({ a: { b: 1, c: [{ d: 1 }, { d: 2 }] } }, { a: { b: 1, c: [{ d: 1 }, { d: 3 }] } })).toEqual([
      'a.c[1].d',
    ]);
    expect(changedPaths({ a: [1] }, { a: [1, 2] })).toEqual(['a']);
    expect(changedPaths({ a: 1 }, { a: 1, b: { c: 2 } })).toEqual(['b']);
    expect(changedPaths({ a: 1 }, { a: 1 })).toEqual([]);
  });
});

describe('Temporal connection security from the environment', () => {
  const reg = registryWith((d) => {
    d.controller.temporal.tls = { secretRef: { name: 'temporal-client' }, serverName: 'temporal.example.com' };
  });

  it('reads the mounted Secret files, with the CA optional', () => {
    const dir = tempDir('bf-tls-');
    writeFileSync(path.join(dir, 'tls.crt'), 'CERT');
    writeFileSync(path.join(dir, 'tls.key'), 'KEY');
    expect(temporalSecurity(reg, { BRANCH_FOLLOWER_TEMPORAL_TLS_DIR: dir })).toEqual({
      tls: {
        clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
        serverNameOverride: 'temporal.example.com',
      },
    });
  });

  it('says which variable is missing, naming the Secret but no value', () => {
    expect(() => temporalSecurity(reg, {})).toThrow(
      /controller.temporal.tls is declared \(Secret temporal-client\) but BRANCH_FOLLOWER_TEMPORAL_TLS_DIR is not set/,
    );
    const keyed = registryWith((d) => (d.controller.temporal.apiKey = { secretRef: { name: 'cloud', key: 'apiKey' } }));
    expect(() => temporalSecurity(keyed, {})).toThrow(/BRANCH_FOLLOWER_TEMPORAL_API_KEY is not set/);
    expect(temporalSecurity(keyed, { BRANCH_FOLLOWER_TEMPORAL_API_KEY: 'k-1' })).toEqual({ apiKey: 'k-1', tls: true });
    expect(temporalSecurity(shipped(), {})).toEqual({});
  });
});

describe('state projection entry', () => {
  it('is compact, stable for an unchanged state, and carries no secret presence or fingerprint', () => {
    const spec = makeSpec({ adapter: { ...makeSpec().adapter, env: ['TOKEN'] } });
    let s = reduce(initialState('demo', 1000), { type: 'observed', sha: sha(1) }, 2000, spec);
    s = reduce(s, { type: 'triggering' }, 3000, spec);
    s = reduce(
      s,
      {
        type: 'triggered',
        sha: sha(1),
        run: 1,
        fired: true,
        jobId: 'j1',
        secrets: [{ name: 'TOKEN', present: true, fingerprint: 'sha256:abcdef012345' }],
      },
      4000,
      spec,
    );
    const entry = projectionEntry(s);
    expect(JSON.parse(entry)).toEqual({
      phase: 'ClosingOut',
      code: 'TriggerAccepted',
      message: 'trigger accepted job j1; budget 2m',
      since: new Date(4000).toISOString(),
      observedSha: sha(1),
      targetSha: sha(1),
      lastTriggeredSha: sha(1),
      work: { stage: 'closingOut', sha: sha(1), jobId: 'j1', attempt: 1, deadline: new Date(123_000).toISOString() },
    });
    expect(entry).not.toMatch(/TOKEN|fingerprint|sha256:/);
    expect(projectionEntry(reduce(s, { type: 'refresh' }, 5000, spec))).toBe(entry);
  });
});

describe('the worker image', () => {
  /** Files the worker and the CLI import at run time (relative to the repository), following relative imports from their entry points. */
  function runtimeFiles(entries: string[]): string[] {
    const root = path.resolve(import.meta.dirname, '../..');
    const seen = new Set<string>();
    const queue = entries.map((e) => path.join(root, e));
    while (queue.length) {
      const file = queue.pop()!;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const m of readFileSync(file, 'utf8').matchAll(
        /^\s*(?:import|export)\s+(?!type\b)[^'"]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/gm,
      )) {
        queue.push(path.resolve(path.dirname(file), (m[1] ?? m[2])!));
      }
    }
    return [...seen].map((f) => path.relative(root, f).split(path.sep).join('/'));
  }

  it('copies every file the worker, the CLI and the build run from', () => {
    const containerfile = readFileSync(path.resolve(import.meta.dirname, '../../deploy/Containerfile'), 'utf8');
    // `COPY a b ./` copies each to itself; `COPY a ./a` too.
    const copied = [...containerfile.matchAll(/^COPY (.+) (\S+)$/gm)].flatMap(([, sources, dest]) =>
      sources!.split(' ').filter((source) => dest === './' || dest === `./${source}`),
    );
    // The CLI is compiled in the image too (the bin loads it by path, so its entry is named here).
    const needed = [
      ...runtimeFiles(['worker/main.ts', 'client/branch-follower.mjs', 'client/cli.ts', 'workflows/index.ts']),
      ...BUILD_INPUTS,
    ];
    expect(needed).toContain('contract/messages.ts');
    expect(needed).toContain('client/commands/status.ts');
    expect(needed).toContain('scripts/build.mjs');
    for (const file of needed)
      expect(
        copied.some((c) => file === c || file.startsWith(`${c}/`)),
        `deploy/Containerfile does not COPY ${file}`,
      ).toBe(true);
  });

  it('runs the Node LTS line that engines names and CI tests on', () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const major = NODE_LTS_VERSION.split('.')[0];
    expect(readFileSync(path.join(root, 'deploy/Containerfile'), 'utf8')).toMatch(
      new RegExp(`^FROM node:${major}-bookworm-slim$`, 'm'),
    );
    expect(
      (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node,
    ).toBe(`>=${major}`);
  });

  it('builds the compiled worker and the workflow bundle the rendered Deployment runs', () => {
    const containerfile = readFileSync(path.resolve(import.meta.dirname, '../../deploy/Containerfile'), 'utf8');
    expect(containerfile).toMatch(/^RUN node scripts\/build\.mjs --workflow-bundle$/m);
    const deployment = renderObjects(
      loadRegistry(path.resolve(import.meta.dirname, '../../config/cicd-branch-followers.yaml')),
    ).find((o) => o.kind === 'Deployment')!;
    const container = (
      deployment.spec as {
        template: { spec: { containers: { command: string[]; env: { name: string; value?: string }[] }[] } };
      }
    ).template.spec.containers[0]!;
    expect(container.command).toEqual(['node', 'dist/worker.mjs']);
    expect(container.env).toContainEqual({ name: 'BRANCH_FOLLOWER_WORKFLOW_BUNDLE', value: '/app/dist/workflows.js' });
    // A plain `docker run` of the image uses it too.
    expect(containerfile).toMatch(/^ENV BRANCH_FOLLOWER_WORKFLOW_BUNDLE=\/app\/dist\/workflows\.js$/m);
    expect(containerfile).toMatch(/^CMD \["node", "dist\/worker\.mjs"\]$/m);
  });
});

describe('render: the push webhook receiver', () => {
  const withWebhooks = (listen: string) =>
    registryWith((doc) => {
      doc.controller.webhooks = { listen, sources: { github: { kind: 'github', secretEnv: 'WEBHOOK_GITHUB' } } };
      doc.controller.kubernetes.env.WEBHOOK_GITHUB = { secretKeyRef: { name: 'git-hooks', key: 'github' } };
    });

  it('exposes the receiver: a container port, a Service over every replica, the secret from its Secret', () => {
    const objects = renderObjects(withWebhooks('0.0.0.0:9480'));
    const deployment = find(objects, 'Deployment')[0] as any;
    const container = deployment.spec.template.spec.containers[0];
    expect(container.ports).toContainEqual({ name: 'webhooks', containerPort: 9480 });
    expect(container.env).toContainEqual({
      name: 'WEBHOOK_GITHUB',
      valueFrom: { secretKeyRef: { name: 'git-hooks', key: 'github' } },
    });
    const [service] = find(objects, 'Service') as any[];
    expect(service.metadata.namespace).toBe(deployment.metadata.namespace);
    expect(service.spec).toEqual({
      selector: deployment.spec.selector.matchLabels,
      ports: [{ name: 'webhooks', port: 9480, targetPort: 'webhooks' }],
    });
  });

  it('refuses a webhook secret the cluster has no source for', () => {
    expect(() =>
      registryWith((doc) => {
        doc.controller.webhooks = {
          listen: '0.0.0.0:9480',
          sources: { gl: { kind: 'gitlab', secretEnv: 'WEBHOOK_GITLAB' } },
        };
      }),
    ).toThrow(/controller\.webhooks\.sources\.gl\.secretEnv: WEBHOOK_GITLAB has no source in the cluster/);
  });

  it('listens on every address in the pod, whatever address the registry names for a local run', () => {
    const deployment = find(renderObjects(withWebhooks('127.0.0.1:9480')), 'Deployment')[0] as any;
    const container = deployment.spec.template.spec.containers[0];
    expect(container.env).toContainEqual({ name: 'BRANCH_FOLLOWER_WEBHOOKS_LISTEN', value: '0.0.0.0:9480' });
    expect(container.ports).toContainEqual({ name: 'webhooks', containerPort: 9480 });
  });
});

describe('render: metrics and notification sinks', () => {
  it('exposes /metrics on every address in the pod, as a named port the pod annotations point scrapers at', () => {
    const deployment = find(
      renderObjects(registryWith((doc) => (doc.controller.metrics = { listen: '127.0.0.1:9464' }))),
      'Deployment',
    )[0] as any;
    const container = deployment.spec.template.spec.containers[0];
    expect(container.env).toContainEqual({ name: 'BRANCH_FOLLOWER_METRICS_LISTEN', value: '0.0.0.0:9464' });
    expect(container.ports).toContainEqual({ name: 'metrics', containerPort: 9464 });
    expect(deployment.spec.template.metadata.annotations).toMatchObject({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9464',
      'prometheus.io/path': '/metrics',
    });
  });

  it('opens no metrics port and adds no annotation without controller.metrics', () => {
    const deployment = find(
      renderObjects(registryWith((doc) => delete doc.controller.metrics)),
      'Deployment',
    )[0] as any;
    expect(deployment.spec.template.spec.containers[0].ports.map((p: any) => p.name)).not.toContain('metrics');
    expect(Object.keys(deployment.spec.template.metadata.annotations)).toEqual(['branch-follower.dev/registry-sha256']);
  });

  it('refuses a sink token the cluster has no source for, and a follower naming an unknown sink', () => {
    expect(() =>
      registryWith((doc) => {
        doc.notify.commits = { kind: 'github-status', tokenEnv: 'GITHUB_STATUS_TOKEN' };
      }),
    ).toThrow(/notify\.commits\.tokenEnv: GITHUB_STATUS_TOKEN has no source in the cluster/);
    expect(() =>
      registryWith((doc) => {
        doc.followers[0].notify = ['events', 'nope'];
      }),
    ).toThrow(/followers\[0\]\.notify\[1\]: unknown notification sink "nope"/);
  });
});
