// Provisions the tools (Temporal CLI, etcd and the Kubernetes control plane, kwok, Prometheus),
// starts one real Temporal dev server (headless, SQLite in a temp dir) and one Kubernetes control
// plane for the whole run, compiles the CLI and the worker as `npm ci` does (worker processes and
// the bin run what ships) and bundles the workflows once; test files get addresses via inject().
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflowCode } from '@temporalio/worker';
import { build } from '../scripts/build.mjs';
import { startDevServer, type DevServer } from '../scripts/dev-server.ts';
import { freePort } from '../scripts/git-mirror.ts';
import { ensureKubeTools, ensurePrometheus, ensureTemporalCli, type PrometheusTools } from '../scripts/tools.ts';
import { startKubeCluster, type KubeCluster, type KubeEndpoint } from './support/kube-cluster.ts';
import { WORKFLOW_BUNDLE_OPTIONS } from '../worker/worker.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    temporalCli: string;
    workflowBundlePath: string;
    kube: KubeEndpoint & { adminKubeconfig: string };
    prometheus: PrometheusTools;
  }
}

let server: DevServer | undefined;
let kube: KubeCluster | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  const log = (line: string): void => console.log(`[test setup] ${line}`);
  const cli = await ensureTemporalCli(log);
  // Built before any test runs, so a cold build never competes with timing-sensitive tests.
  await ensureKubeTools(log);
  const prometheus = await ensurePrometheus(log);
  dir = mkdtempSync(path.join(os.tmpdir(), 'bf-test-'));
  server = await startDevServer({
    cli,
    host: '127.0.0.1',
    port: await freePort(),
    dbFile: path.join(dir, 'temporal.db'),
    namespace: 'default',
    startTimeoutMs: 120_000,
    log,
  });
  kube = await startKubeCluster(log);
  await build();
  const { code } = await bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: quietLogger });
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  project.provide('temporalAddress', server.address);
  project.provide('temporalCli', cli);
  project.provide('workflowBundlePath', bundlePath);
  project.provide('prometheus', prometheus);
  project.provide('kube', {
    server: kube.server,
    ca: kube.ca,
    adminToken: kube.adminToken,
    adminKubeconfig: kube.adminKubeconfig,
  });
}

export async function teardown(): Promise<void> {
  await kube?.stop();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

const noop = (): void => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error };
