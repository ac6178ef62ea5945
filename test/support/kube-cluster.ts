// A real Kubernetes control plane for tests, on loopback: etcd, kube-apiserver (TLS, RBAC,
// ServiceAccount tokens), kube-controller-manager and kube-scheduler, all built from Go modules
// (scripts/tools.ts), plus kwok, which plays the kubelet of one fake node: pods get scheduled,
// start, become Ready, and Job pods complete, so Deployments really roll out and Jobs really
// finish. No kubelet, no containers: what a pod would run is never run.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { accessFor, type KubeAccess } from '../../activities/kube/access.ts';
import { freePort } from '../../scripts/git-mirror.ts';
import { ensureKubeTools, type Log } from '../../scripts/tools.ts';

export interface KubeEndpoint {
  server: string;
  ca: string;
  adminToken: string;
}

export interface KubeCluster extends KubeEndpoint {
  /** A kubeconfig file for the admin (system:masters). */
  adminKubeconfig: string;
  stop(): Promise<void>;
}

export const FAKE_NODE = 'kwok-node-0';

export async function startKubeCluster(log: Log): Promise<KubeCluster> {
  const tools = await ensureKubeTools(log);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bf-kube-'));
  const procs: ChildProcess[] = [];
  const started = (name: string, cmd: string, args: string[]) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    p.on('exit', (code, signal) => {
      if (!stopping) log(`${name} exited (${code ?? signal}): ${err.slice(-1000)}`);
    });
    procs.push(p);
    return { p, err: () => err };
  };
  let stopping = false;
  const stop = async () => {
    stopping = true;
    for (const p of procs.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => p.once('exit', r));
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
    const etcd = started('etcd', tools.etcd, [
      '--data-dir',
      path.join(dir, 'etcd'),
      '--name',
      'test',
      '--listen-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      `test=http://127.0.0.1:${peerPort}`,
      '--log-level',
      'error',
      // Tests churn objects; keep etcd from growing without bound.
      '--auto-compaction-retention',
      '1m',
      '--quota-backend-bytes',
      String(2 * 1024 ** 3),
    ]);
    await until(
      async () => (await get(`http://127.0.0.1:${etcdPort}/health`)) === 200,
      60_000,
      () => `etcd did not become healthy: ${etcd.err()}`,
    );

    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saKey = path.join(dir, 'sa.key');
    writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const adminToken = randomBytes(16).toString('hex');
    writeFileSync(path.join(dir, 'tokens.csv'), `${adminToken},admin,admin,"system:masters"\n`);
    const certDir = path.join(dir, 'certs');
    mkdirSync(certDir);
    const api = started('kube-apiserver', tools.kubeApiserver, [
      '--etcd-servers',
      `http://127.0.0.1:${etcdPort}`,
      '--bind-address',
      '127.0.0.1',
      '--advertise-address',
      '127.0.0.1',
      '--secure-port',
      String(apiPort),
      '--cert-dir',
      certDir,
      '--token-auth-file',
      path.join(dir, 'tokens.csv'),
      '--authorization-mode',
      'RBAC',
      '--service-account-issuer',
      'https://kubernetes.default.svc',
      '--service-account-key-file',
      path.join(dir, 'sa.pub'),
      '--service-account-signing-key-file',
      saKey,
      '--service-cluster-ip-range',
      '10.96.0.0/16',
      '--v',
      '0',
    ]);
    const server = `https://127.0.0.1:${apiPort}`;
    let ca = '';
    await until(
      async () => {
        ca ||= readIfExists(path.join(certDir, 'apiserver.crt'));
        return (
          Boolean(ca) &&
          (await kubeRequest({ server, ca, adminToken }, adminToken, 'GET', '/readyz').catch(() => ({ status: 0 })))
            .status === 200
        );
      },
      120_000,
      () => `kube-apiserver did not become ready: ${api.err()}`,
    );

    const adminKubeconfig = path.join(dir, 'admin.kubeconfig');
    writeFileSync(adminKubeconfig, kubeconfigYaml({ server, ca, token: adminToken, user: 'admin' }));
    writeFileSync(path.join(dir, 'ca.crt'), ca);
    // Controllers act with the admin's credentials; they serve no ports of their own.
    started('kube-controller-manager', tools.kubeControllerManager, [
      '--kubeconfig',
      adminKubeconfig,
      '--authentication-kubeconfig',
      adminKubeconfig,
      '--authorization-kubeconfig',
      adminKubeconfig,
      '--leader-elect=false',
      '--secure-port',
      '0',
      '--use-service-account-credentials=false',
      '--service-account-private-key-file',
      saKey,
      '--root-ca-file',
      path.join(dir, 'ca.crt'),
      '--controllers',
      '*',
      '--concurrent-deployment-syncs',
      '10',
      '--v',
      '0',
    ]);
    started('kube-scheduler', tools.kubeScheduler, [
      '--kubeconfig',
      adminKubeconfig,
      '--authentication-kubeconfig',
      adminKubeconfig,
      '--authorization-kubeconfig',
      adminKubeconfig,
      '--leader-elect=false',
      '--secure-port',
      '0',
      '--v',
      '0',
    ]);
    started('kwok', tools.kwok, [
      '--kubeconfig',
      adminKubeconfig,
      '-c',
      tools.kwokStages,
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector',
      'kwok.x-k8s.io/node=fake',
      '--cidr',
      '10.0.0.1/24',
      '--node-ip',
      '10.0.0.1',
      '--node-lease-duration-seconds',
      '40',
      '--v',
      'WARN',
    ]);
    const endpoint = { server, ca, adminToken };
    const created = await kubeRequest(endpoint, adminToken, 'POST', '/api/v1/nodes', {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: FAKE_NODE,
        annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
        labels: { 'kubernetes.io/hostname': FAKE_NODE, 'kubernetes.io/os': 'linux', type: 'kwok' },
      },
      status: {
        allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
        capacity: { cpu: '8', memory: '32Gi', pods: '110' },
      },
    });
    if (created.status !== 201)
      throw new Error(`creating the fake node failed: ${created.status} ${JSON.stringify(created.body)}`);
    await until(
      async () => {
        const node = await kubeRequest(endpoint, adminToken, 'GET', `/api/v1/nodes/${FAKE_NODE}`);
        return node.body?.status?.conditions?.some(
          (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
        );
      },
      60_000,
      () => 'kwok did not make the fake node Ready',
    );
    return { ...endpoint, adminKubeconfig, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export function kubeconfigYaml(o: { server: string; ca: string; token: string; user: string }): string {
  return YAML.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'test',
        cluster: { server: o.server, 'certificate-authority-data': Buffer.from(o.ca).toString('base64') },
      },
    ],
    users: [{ name: o.user, user: { token: o.token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: o.user } }],
    'current-context': 'test',
  });
}

/** A real ServiceAccount token from the TokenRequest API: the identity a pod of that account has. */
export async function serviceAccountToken(k: KubeEndpoint, namespace: string, serviceAccount: string): Promise<string> {
  const res = await kubeRequest(
    k,
    k.adminToken,
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/${serviceAccount}/token`,
    {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    },
  );
  if (res.status !== 201)
    throw new Error(`TokenRequest for ${namespace}/${serviceAccount}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.status.token as string;
}

function readIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The first value `probe` gives that is truthy (polled as `until` polls), or an error naming `what`. */
export async function untilValue<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  let value: T | undefined;
  await until(
    async () => Boolean((value = await probe())),
    timeoutMs,
    () => `timed out waiting for ${what}`,
  );
  return value!;
}

export async function until(check: () => Promise<boolean>, timeoutMs: number, why: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 250));
  }
}

function get(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

/** A raw API call (JSON in, JSON out), for what tests do as the admin or as a given token. */
export function kubeRequest(
  k: KubeEndpoint,
  token: string,
  method: string,
  p: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${k.server}${p}`,
      {
        method,
        ca: k.ca,
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType, accept: 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain text (readyz)
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(typeof body === 'string' ? body : JSON.stringify(body));
    req.end();
  });
}

/** Kubernetes access (the worker's client) authenticated with `token`. */
export function accessWithToken(k: KubeEndpoint, token: string, user: string): KubeAccess {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml({ server: k.server, ca: k.ca, token, user }));
  return accessFor(kc, user);
}

/** A minimal CRD: the real group, version, kind and (optionally) status subresource; no schema. */
export async function installCrd(
  k: KubeEndpoint,
  group: string,
  plural: string,
  kind: string,
  version: string,
  statusSubresource: boolean,
): Promise<void> {
  const res = await kubeRequest(k, k.adminToken, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, singular: kind.toLowerCase(), kind, listKind: `${kind}List` },
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          ...(statusSubresource ? { subresources: { status: {} } } : {}),
        },
      ],
    },
  });
  if (res.status !== 201 && res.status !== 409)
    throw new Error(`installing CRD ${plural}.${group}: ${res.status} ${JSON.stringify(res.body)}`);
  await until(
    async () => (await kubeRequest(k, k.adminToken, 'GET', `/apis/${group}/${version}`)).status === 200,
    30_000,
    () => `CRD ${plural}.${group} was not served`,
  );
}
