// A real Kubernetes API for tests: etcd and kube-apiserver (built from Go modules, see
// scripts/tools.ts) on loopback, with TLS, RBAC authorization and two token users: an admin
// (system:masters) and the worker's ServiceAccount identity. No controllers, no nodes: tests play
// controllers by writing status themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../scripts/git-mirror.ts';
import { ensureKubeTools, type Log } from '../../scripts/tools.ts';

export interface KubeCluster {
  server: string;
  ca: string;
  adminToken: string;
  /** Authenticates as system:serviceaccount:<namespace>:<serviceAccount>. */
  workerToken: string;
  request(token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export async function startKubeCluster(opts: { namespace: string; serviceAccount: string; log: Log }): Promise<KubeCluster> {
  const tools = await ensureKubeTools(opts.log);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bf-kube-'));
  const procs: ChildProcess[] = [];
  const started = (cmd: string, args: string[]) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    procs.push(p);
    return { p, err: () => err };
  };
  const stop = async () => {
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
    const etcd = started(tools.etcd, [
      '--data-dir', path.join(dir, 'etcd'), '--name', 'test',
      '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `test=http://127.0.0.1:${peerPort}`, '--log-level', 'error',
    ]);
    await until(async () => (await get(`http://127.0.0.1:${etcdPort}/health`)).status === 200, 60_000, () => `etcd did not become healthy: ${etcd.err()}`);

    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
    const adminToken = randomBytes(16).toString('hex');
    const workerToken = randomBytes(16).toString('hex');
    const sa = `system:serviceaccount:${opts.namespace}:${opts.serviceAccount}`;
    writeFileSync(
      path.join(dir, 'tokens.csv'),
      `${adminToken},admin,admin,"system:masters"\n${workerToken},${sa},worker-uid,"system:serviceaccounts,system:serviceaccounts:${opts.namespace}"\n`,
    );
    const certDir = path.join(dir, 'certs');
    mkdirSync(certDir);
    const api = started(tools.kubeApiserver, [
      '--etcd-servers', `http://127.0.0.1:${etcdPort}`,
      '--bind-address', '127.0.0.1', '--advertise-address', '127.0.0.1', '--secure-port', String(apiPort),
      '--cert-dir', certDir, '--token-auth-file', path.join(dir, 'tokens.csv'),
      '--authorization-mode', 'RBAC',
      '--service-account-issuer', 'https://kubernetes.default.svc',
      '--service-account-key-file', path.join(dir, 'sa.pub'), '--service-account-signing-key-file', path.join(dir, 'sa.key'),
      '--service-cluster-ip-range', '10.96.0.0/16',
      '--v', '0',
    ]);
    const server = `https://127.0.0.1:${apiPort}`;
    let ca = '';
    const request = (token: string, method: string, p: string, body?: unknown) => call(server, ca, token, method, p, body);
    await until(
      async () => {
        ca ||= readIfExists(path.join(certDir, 'apiserver.crt'));
        return Boolean(ca) && (await request(adminToken, 'GET', '/readyz').catch(() => ({ status: 0 }))).status === 200;
      },
      120_000,
      () => `kube-apiserver did not become ready: ${api.err()}`,
    );
    return { server, ca, adminToken, workerToken, request, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

function readIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function until(check: () => Promise<boolean>, timeoutMs: number, why: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 250));
  }
}

function get(url: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0 });
    }).on('error', reject);
  });
}

function call(server: string, ca: string, token: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${server}${p}`,
      { method, ca, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' } },
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
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}
