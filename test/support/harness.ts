// One isolated follower world per test: a git mirror served by a real `git daemon`, the demo
// control plane with its trigger log (the witness), a registry written for the test, and a
// worker on its own task queue against the shared real Temporal dev server.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import YAML from 'yaml';
import { loadRegistry, type Registry } from '../../config/registry.ts';
import { startFollower, startOptions, startWatcher, watcherSpecs } from '../../client/followers.ts';
import { WORKER_ENTRY } from '../../scripts/build.mjs';
import { freePort, pushCommit, seedMirror, startGitDaemon, type GitDaemon } from '../../scripts/git-mirror.ts';
import { createFollowerWorker } from '../../worker/worker.ts';
import type { KubeAccess } from '../../activities/kube/access.ts';
import {
  eventsQuery,
  stateQuery,
  watcherIdFor,
  workflowIdFor,
  type FollowerWorkflowInput,
} from '../../contract/messages.ts';
import type { FollowerView, Transition } from '../../contract/state.ts';
import { runCli } from './cli.ts';
import { runsThatDoNotReplay } from './replay-check.ts';

// Each test's world names its own server: the Temporal CLI settings of whoever runs the tests
// (TEMPORAL_ADDRESS, TEMPORAL_PROFILE, …) would move the operator CLI elsewhere.
for (const name of Object.keys(process.env)) if (name.startsWith('TEMPORAL_')) delete process.env[name];

export const REPO = 'org/app';
const ROOT = path.resolve(import.meta.dirname, '../..');
const HWLAB = path.join(ROOT, 'examples/bin/hwlab');

export interface Lane {
  deployMs?: number;
  /** The n-th accepted triggers SIGKILL the worker before it can report (examples/control-plane). */
  killWorkerOnTriggers?: number[];
  faults?: { status?: Fault; trigger?: Fault };
  outcomes?: ('succeed' | 'fail-retryable' | 'fail-terminal' | 'never')[];
  triggerFails?: string;
  /** What the status says of a terminal failure (`fail-terminal`), as a runtime quoting a commit would. */
  failMessage?: string;
}

export type Fault = 'hang' | 'exit' | 'badjson' | 'flood' | 'othersha';

export interface FollowerDef {
  name: string;
  lane: string;
  branch?: string;
  /** Extra keys merged into the follower's YAML entry. */
  yaml?: Record<string, unknown>;
}

export interface HarnessOptions {
  lanes: Record<string, Lane>;
  followers: FollowerDef[];
  /** Deep-merged into the test defaults block. */
  defaults?: Record<string, unknown>;
  /** Merged into the demo adapter's YAML entry. */
  adapter?: Record<string, unknown>;
  /** More adapters, by id (followers pick one with `yaml: { adapter: id }`). */
  adapters?: Record<string, unknown>;
  /** Branches to create besides main and the followed ones. */
  branches?: string[];
  /** controller.registryId (default: the harness's prefix). */
  registryId?: string;
  /** A Temporal server of the test's own (default: the shared dev server). */
  address?: string;
  /** Merged into controller.temporal / controller.worker. */
  temporal?: Record<string, unknown>;
  worker?: Record<string, unknown>;
  /** controller.kubernetes: `true` for the test default (namespace <prefix>-sys), or keys deep-merged into it. */
  kubernetes?: true | Record<string, unknown>;
  /** More files next to the registry (object templates), by relative path. */
  files?: Record<string, string>;
  /** controller.webhooks, as written. */
  webhooks?: Record<string, unknown>;
  /** controller.metrics, as written. */
  metrics?: Record<string, unknown>;
  /** The registry's notify: sinks, as written (followers pick them with `yaml: { notify: [...] }`). */
  notify?: Record<string, unknown>;
}

let runtimeInstalled = false;
function installRuntime(): void {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  runtimeInstalled = true;
}

export class Harness {
  readonly prefix = `t${randomBytes(4).toString('hex')}`;
  /** Its own, unless the test shares one between registries (`temporal: { taskQueue }`). */
  get taskQueue(): string {
    return (this.opts.temporal?.taskQueue as string | undefined) ?? `${this.prefix}-queue`;
  }
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'bf-e2e-'));
  readonly mirrorRoot = path.join(this.dir, 'mirror');
  readonly stateDir = path.join(this.dir, 'control-plane');
  readonly registryFile = path.join(this.dir, 'config', 'registry.yaml');
  get address(): string {
    return this.opts.address ?? inject('temporalAddress');
  }
  registry!: Registry;
  /** Kubernetes access for the in-process worker (its ServiceAccount, in the tests that have one). */
  workerKube?: KubeAccess;
  daemon!: GitDaemon;
  daemonPort!: number;
  client!: Client;
  private connection!: Connection;
  private native?: NativeConnection;
  private worker?: { worker: Worker; running: Promise<void> };
  private processes: ChildProcess[] = [];
  private closing = false;
  /** Build ids of older releases a test ran (`startWorker({ bundlePath })`): runs only they decided in are theirs to replay. */
  private readonly olderBuilds = new Set<string>();

  private constructor(private readonly opts: HarnessOptions) {}

  static async create(opts: HarnessOptions): Promise<Harness> {
    const h = new Harness(opts);
    await h.init();
    return h;
  }

  private async init(): Promise<void> {
    const branches = new Set([
      'main',
      ...(this.opts.branches ?? []),
      ...this.opts.followers.map((f) => f.branch ?? 'main'),
    ]);
    seedMirror(this.mirrorRoot, [{ repo: REPO, branches: [...branches].map((name) => ({ name, commits: 1 })) }]);
    this.daemonPort = await freePort();
    this.daemon = await startGitDaemon(this.mirrorRoot, '127.0.0.1', this.daemonPort);
    this.writeConfig();
    this.registry = loadRegistry(this.registryFile);
    this.connection = await Connection.connect({ address: this.address });
    this.client = new Client({ connection: this.connection, namespace: 'default' });
  }

  writeConfig(overrides: Partial<HarnessOptions> = {}): void {
    const o = { ...this.opts, ...overrides };
    mkdirSync(path.dirname(this.registryFile), { recursive: true });
    const lanes = Object.fromEntries(Object.entries(o.lanes).map(([lane, b]) => [`N1/${lane}`, b]));
    writeFileSync(
      path.join(this.dir, 'config', 'lanes.yaml'),
      YAML.stringify({ controlPlane: { stateDir: this.stateDir }, lanes }),
    );
    for (const [rel, text] of Object.entries(o.files ?? {})) {
      mkdirSync(path.dirname(path.join(this.dir, 'config', rel)), { recursive: true });
      writeFileSync(path.join(this.dir, 'config', rel), text);
    }
    const doc = {
      controller: {
        registryId: o.registryId ?? this.prefix,
        temporal: {
          address: this.address,
          namespace: 'default',
          taskQueue: this.taskQueue,
          workflowTaskTimeout: '10s',
          ...o.temporal,
        },
        worker: {
          maxConcurrentActivityTaskExecutions: 20,
          maxConcurrentWorkflowTaskExecutions: 20,
          maxCachedWorkflows: 100,
          shutdownGraceTime: '2s',
          stickyQueueScheduleToStartTimeout: '10s',
          ...o.worker,
        },
        ...(o.kubernetes
          ? { kubernetes: deepMerge(this.kubernetesDefaults(), o.kubernetes === true ? {} : o.kubernetes) }
          : {}),
        ...(o.webhooks ? { webhooks: o.webhooks } : {}),
        ...(o.metrics ? { metrics: o.metrics } : {}),
      },
      defaults: deepMerge(
        {
          pollInterval: '500ms',
          observe: { timeout: '5s', mode: 'poll', fallbackInterval: '1m' },
          closeout: { budget: '30s', pollInterval: '150ms' },
          retry: { maxAttempts: 3, initialBackoff: '300ms', backoffCoefficient: 2, maxBackoff: '2s' },
          adapter: { timeout: '10s', maxOutputBytes: 65536 },
          activity: { heartbeatTimeout: '5s', maxAttempts: 3, maxRetryInterval: '1s' },
          loop: { continueAsNewAfter: 1000, eventsKept: 200, shasKept: 100 },
        },
        o.defaults ?? {},
      ),
      adapters: {
        demo: { ...demoAdapter(), ...o.adapter },
        ...o.adapters,
      },
      followers: o.followers.map((f) => ({
        id: this.id(f.name),
        enabled: true,
        adapter: 'demo',
        source: { mirror: this.daemon.url(REPO), branch: f.branch ?? 'main' },
        target: { configRef: 'lanes.yaml', params: { node: 'N1', lane: f.lane } },
        closeout: { check: 'ready' },
        ...f.yaml,
      })),
      ...(o.notify ? { notify: o.notify } : {}),
    };
    writeFileSync(this.registryFile, YAML.stringify(doc));
  }

  id(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /** The workflow id of this registry's watcher of a mirror. */
  watcherId(mirror: string): string {
    return watcherIdFor(this.registry.controller.registryId, mirror);
  }

  /** The controller's namespace in a registry with `kubernetes: true`. */
  get systemNamespace(): string {
    return `${this.prefix}-sys`;
  }

  private kubernetesDefaults(): Record<string, unknown> {
    return {
      namespace: this.systemNamespace,
      serviceAccount: 'branch-follower',
      fieldManager: 'branch-follower',
      configMaps: { registry: 'bf-registry', state: 'bf-state' },
      deployment: {
        name: 'bf-worker',
        replicas: 2,
        image: 'registry.example.com/platform/branch-follower:0.1.0',
        imagePullPolicy: 'IfNotPresent',
        resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
        healthPort: 8080,
        rollout: { budget: '60s', pollInterval: '200ms' },
      },
      env: {
        DEMO_TOKEN: { secretKeyRef: { name: 'demo', key: 'token' } },
        BF_WORKER_NAME: { secretKeyRef: { name: 'demo', key: 'worker' } },
      },
    };
  }

  handle(name: string): WorkflowHandle {
    return this.client.workflow.getHandle(workflowIdFor(this.id(name)));
  }

  /** A worker in this process; `bundlePath` runs other workflow code (an older release, in the upgrade tests). */
  async startWorker(opts: { bundlePath?: string } = {}): Promise<void> {
    installRuntime();
    this.native ??= await NativeConnection.connect({ address: this.address });
    const worker = await createFollowerWorker({
      registry: this.registry,
      connection: this.native,
      target: {
        address: this.address,
        addressFrom: 'the test harness',
        namespace: 'default',
        namespaceFrom: 'the test harness',
        taskQueue: this.taskQueue,
      },
      workflowBundle: { codePath: opts.bundlePath ?? inject('workflowBundlePath') },
      ...(this.workerKube ? { kube: this.workerKube } : {}),
    });
    if (opts.bundlePath) this.olderBuilds.add((worker.options as { buildId?: string }).buildId ?? '');
    this.worker = { worker, running: worker.run() };
  }

  async stopWorker(): Promise<void> {
    if (!this.worker) return;
    this.worker.worker.shutdown();
    await this.worker.running;
    this.worker = undefined;
  }

  /** The compiled worker in its own process, as the image runs it (to be SIGKILLed, or started inside some directory). */
  spawnWorker(opts: { cwd?: string; env?: Record<string, string> } = {}): ChildProcess {
    const child = spawn(process.execPath, [WORKER_ENTRY, this.registryFile], {
      cwd: opts.cwd ?? this.dir,
      env: {
        PATH: process.env.PATH!,
        HOME: process.env.HOME!,
        // Its work directory goes with the test's, even when the test SIGKILLs it.
        TMPDIR: this.dir,
        BRANCH_FOLLOWER_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
    Object.defineProperty(child, 'output', { get: () => output });
    this.processes.push(child);
    return child;
  }

  /**
   * Keeps one worker process running, as a supervisor (or a Deployment) would: a dead one is
   * replaced at once. Each worker gets BF_WORKER_NAME w<n>, which the control plane logs.
   */
  superviseWorker(): { deaths: () => (string | null)[]; current: () => ChildProcess } {
    const deaths: (string | null)[] = [];
    let child!: ChildProcess;
    const start = (): void => {
      child = this.spawnWorker({ env: { BF_WORKER_NAME: `w${deaths.length}` } });
      child.once('exit', (_code, signal) => {
        if (this.closing) return;
        deaths.push(signal);
        start();
      });
    };
    start();
    return { deaths: () => deaths, current: () => child };
  }

  /** Starts every follower of the registry (enabled or not) and the mirror watchers it implies. */
  async startFollowers(): Promise<void> {
    const options = startOptions(this.registry, this.taskQueue);
    for (const f of this.registry.followers) await startFollower(this.client, options, f.spec);
    for (const w of watcherSpecs(this.registry)) await startWatcher(this.client, options, w);
  }

  push(branch = 'main', message = 'change'): string {
    return pushCommit(this.mirrorRoot, REPO, branch, message);
  }

  /** Every trigger the control plane received, in order, with the key it was sent under: the witness. */
  triggers(lane?: string): { lane: string; sha: string; jobId: string; worker: string; triggerId: string }[] {
    const file = path.join(this.stateDir, 'triggers.log');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [, laneKey, sha, jobId, worker, triggerId] = l.split(' ');
        return {
          lane: laneKey!.split('/')[1]!,
          sha: sha!,
          jobId: jobId!,
          worker: worker ?? '-',
          triggerId: triggerId ?? '-',
        };
      })
      .filter((t) => !lane || t.lane === lane);
  }

  /** The workers the control plane killed after accepting a trigger (pids), and the kills that found no worker left. */
  runtimeKills(): { killed: number[]; missed: number } {
    const file = path.join(this.stateDir, 'kills.log');
    const targets = existsSync(file)
      ? readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' ')[2]!)
      : [];
    return {
      killed: targets.filter((t) => t !== 'none').map(Number),
      missed: targets.filter((t) => t === 'none').length,
    };
  }

  /** What the runtime itself says about a lane: the demo control plane's own `status`, run as the adapter would. */
  runtimeStatus(lane: string): { phase: string; sha?: string; jobId?: string; triggerId?: string; message?: string } {
    const out = execFileSync(
      HWLAB,
      [
        'nodes',
        'control-plane',
        'status',
        '--node',
        'N1',
        '--lane',
        lane,
        '--config',
        path.join(this.dir, 'config', 'lanes.yaml'),
      ],
      { encoding: 'utf8' },
    );
    return JSON.parse(out) as ReturnType<Harness['runtimeStatus']>;
  }

  /** Runs the operator CLI in-process against this world's registry, capturing its output. */
  async cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    return this.cliWith(this.registryFile, ...args);
  }

  /** The CLI in-process against another registry file (a hostile one, say). */
  async cliWith(registryFile: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
    return runCli(['--registry', registryFile, ...args]);
  }

  /** The CLI as the cluster admin (the test control plane's kubeconfig). */
  async kubeCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    return this.cli('--kubeconfig', inject('kube').adminKubeconfig, ...args);
  }

  /** The follower's full history as the real `temporal` CLI prints it (`workflow show -o json`). */
  historyJson(name: string, runId?: string): string {
    return this.workflowHistoryJson(workflowIdFor(this.id(name)), runId);
  }

  workflowHistoryJson(workflowId: string, runId?: string): string {
    return execFileSync(
      inject('temporalCli'),
      [
        'workflow',
        'show',
        '--address',
        this.address,
        '--namespace',
        'default',
        '--workflow-id',
        workflowId,
        ...(runId ? ['--run-id', runId] : []),
        '--output',
        'json',
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
  }

  /** With BF_RECORD_HISTORIES=1, saves the follower's history under test/histories/ for the replay test. */
  recordHistory(name: string, file: string, runId?: string): void {
    this.recordWorkflowHistory(workflowIdFor(this.id(name)), file, runId);
  }

  recordWorkflowHistory(workflowId: string, file: string, runId?: string): void {
    if (process.env.BF_RECORD_HISTORIES !== '1') return;
    writeFileSync(path.join(ROOT, 'test', 'histories', `${file}.json`), this.workflowHistoryJson(workflowId, runId));
  }

  /** What run `runId` of the follower continued as new with (its event's input, decoded). */
  async continuedAsNewInput(
    name: string,
    runId: string,
  ): Promise<FollowerWorkflowInput & { state: Record<string, unknown> }> {
    const history = await this.client.workflow.getHandle(workflowIdFor(this.id(name)), runId).fetchHistory();
    const event = history.events?.find((e) => e.workflowExecutionContinuedAsNewEventAttributes);
    const payload = event?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0];
    if (!payload) throw new Error(`run ${runId} did not continue as new`);
    return defaultPayloadConverter.fromPayload(payload);
  }

  async state(name: string): Promise<FollowerView> {
    return this.handle(name).query(stateQuery);
  }

  async events(name: string): Promise<Transition[]> {
    return this.handle(name).query(eventsQuery, {});
  }

  /** Polls the follower's state until `pred` holds; on timeout, fails with the state and events. */
  async waitFor(
    name: string,
    what: string,
    pred: (v: FollowerView) => boolean,
    timeoutMs = 60_000,
  ): Promise<FollowerView> {
    const deadline = Date.now() + timeoutMs;
    let last: FollowerView | undefined;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        last = await this.state(name);
        if (pred(last)) return last;
      } catch (err) {
        lastError = err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const events = await this.events(name).catch(() => []);
    const pending = await this.handle(name)
      .describe()
      .then((d) =>
        (d.raw.pendingActivities ?? []).map((a) => ({
          type: a.activityType?.name,
          state: a.state,
          attempt: a.attempt,
          lastFailure: a.lastFailure?.message,
          lastStarted: a.lastStartedTime?.seconds?.toString(),
          lastHeartbeat: a.lastHeartbeatTime?.seconds?.toString(),
          lastWorker: a.lastWorkerIdentity,
        })),
      )
      .catch((err: Error) => err.message);
    // The test's directory goes with the test: the history of a failure is kept apart, for `temporal workflow show` or a replay.
    const historyFile = path.join(os.tmpdir(), `bf-failed-${this.id(name)}.history.json`);
    let history = `history: ${historyFile}`;
    try {
      writeFileSync(historyFile, this.workflowHistoryJson(workflowIdFor(this.id(name))));
    } catch (err) {
      history = `history not saved: ${(err as Error).message}`;
    }
    throw new Error(
      `timed out waiting for ${name}: ${what}\nlast state: ${JSON.stringify(last, null, 1)}\nevents: ${JSON.stringify(events, null, 1)}\npending activities: ${JSON.stringify(pending, null, 1)}\nlast error: ${lastError}\n${history}`,
    );
  }

  /** Polls the follower's event log until an event matches; on timeout, fails with the log. */
  async waitForEvent(
    name: string,
    what: string,
    pred: (e: Transition) => boolean,
    timeoutMs = 60_000,
  ): Promise<Transition> {
    const deadline = Date.now() + timeoutMs;
    let events: Transition[] = [];
    while (Date.now() < deadline) {
      events = await this.events(name).catch(() => events);
      const found = events.find(pred);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${name}: ${what}\nevents: ${JSON.stringify(events, null, 1)}`);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const p of this.processes) p.kill('SIGKILL');
    await this.stopWorker();
    const workflowIds = [
      ...this.registry.followers.map((f) => workflowIdFor(f.spec.id)),
      ...watcherSpecs(this.registry).map((w) => this.watcherId(w.mirror)),
    ];
    for (const id of workflowIds)
      await this.client.workflow
        .getHandle(id)
        .terminate('test finished')
        .catch(() => undefined);
    installRuntime();
    const nondeterministic = (
      await runsThatDoNotReplay(this.client, workflowIds, inject('workflowBundlePath'), this.olderBuilds)
    ).map((r) => {
      const file = path.join(os.tmpdir(), `bf-nondeterministic-${r.runId}.history.json`);
      writeFileSync(file, this.workflowHistoryJson(r.workflowId, r.runId));
      return `${r.workflowId} run ${r.runId}: ${r.error.message}; its history: ${file}`;
    });
    await this.native?.close();
    await this.connection.close();
    await this.daemon.stop();
    rmSync(this.dir, { recursive: true, force: true });
    if (nondeterministic.length > 0) throw new Error(`runs that do not replay:\n${nondeterministic.join('\n')}`);
  }
}

/** The demo control plane as a registry adapter entry (argv through examples/bin/hwlab). */
export function demoAdapter(): Record<string, unknown> {
  const cmd = (verb: string, extra: string[] = []) => ({
    argv: [
      HWLAB,
      'nodes',
      'control-plane',
      verb,
      '--node',
      '{node}',
      '--lane',
      '{lane}',
      '--config',
      '{configRef}',
      ...extra,
    ],
  });
  return {
    kind: 'command',
    env: ['DEMO_TOKEN', 'BF_WORKER_NAME'],
    status: cmd('status'),
    trigger: cmd('trigger-current', ['--sha', '{sha}', '--trigger-id', '{triggerId}']),
    cancel: cmd('cancel', ['--job', '{jobId}']),
    logs: cmd('logs', ['--job', '{jobId}']),
    checks: { ready: { kind: 'adapter-status' } },
  };
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object'
        ? deepMerge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** The patch ids a history's markers record (`temporal workflow show -o json` bytes, decoded). */
export function patchesIn(historyJson: string): string[] {
  const history = JSON.parse(historyJson) as {
    events: {
      markerRecordedEventAttributes?: {
        markerName?: string;
        details?: Record<string, { payloads?: { data?: string }[] }>;
      };
    }[];
  };
  return history.events.flatMap((e) => {
    const m = e.markerRecordedEventAttributes;
    const data = m?.markerName === 'core_patch' ? m.details?.['patch-data']?.payloads?.[0]?.data : undefined;
    return data ? [(JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { id: string }).id] : [];
  });
}

export const processOutput = (child: ChildProcess): string => (child as ChildProcess & { output: string }).output;

/** The follower's close-out in progress, if that is its work. */
export function closingOut(
  v: FollowerView,
): Extract<NonNullable<FollowerView['work']>, { stage: 'closingOut' }> | undefined {
  return v.work?.stage === 'closingOut' ? v.work : undefined;
}
