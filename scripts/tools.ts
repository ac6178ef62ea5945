// Provisions the external tools the embedded default and the tests need, cached by version in
// a per-user cache dir so every clone on this machine reuses them. A tool already on PATH is
// used as it is.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Pinned: later tags of the CLI add a `replace` directive that breaks `go install`. */
const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';
const TEMPORAL_CLI_VERSION = 'v1.5.1';

export type Log = (line: string) => void;

function cacheDir(): string {
  const base = process.env.BRANCH_FOLLOWER_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'branch-follower');
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
  return findOnPath('temporal') ?? goBuildCached({ tool: 'temporal', version: TEMPORAL_CLI_VERSION, bin: 'temporal', args: ['install', '-v', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`] }, log);
}

/** Kubernetes test components, pinned: built from the wrapper modules under scripts/k8s-tools/. */
const KUBERNETES_VERSION = 'v1.34.4';
const ETCD_VERSION = 'v3.6.16';
const K8S_TOOLS = fileURLToPath(new URL('./k8s-tools/', import.meta.url));

export async function ensureKubeTools(log: Log): Promise<{ etcd: string; kubeApiserver: string }> {
  const etcd =
    findOnPath('etcd') ??
    (await goBuildCached({ tool: 'etcd', version: ETCD_VERSION, bin: 'etcd', moduleDir: path.join(K8S_TOOLS, 'etcd'), args: ['build', '-v', 'go.etcd.io/etcd/server/v3'] }, log));
  const kubeApiserver =
    findOnPath('kube-apiserver') ??
    (await goBuildCached(
      { tool: 'kubernetes', version: KUBERNETES_VERSION, bin: 'kube-apiserver', moduleDir: path.join(K8S_TOOLS, 'kubernetes'), args: ['build', '-v', 'k8s.io/kubernetes/cmd/kube-apiserver'] },
      log,
    ));
  return { etcd, kubeApiserver };
}

interface GoBuild {
  tool: string;
  version: string;
  bin: string;
  /** `install <pkg>@<version>` (GOBIN is set), or `build <pkg>` run in `moduleDir` (-o is added). */
  args: string[];
  moduleDir?: string;
}

/** <cache>/tools/<tool>-<version>/bin/<bin>, built once per machine. */
async function goBuildCached(b: GoBuild, log: Log): Promise<string> {
  const dir = path.join(cacheDir(), 'tools', `${b.tool}-${b.version}`);
  const bin = path.join(dir, 'bin', b.bin);
  if (!existsSync(bin)) await goBuild(b, dir, log);
  return bin;
}

async function goBuild(b: GoBuild, dir: string, log: Log): Promise<void> {
  const pkg = b.args[b.args.length - 1]!;
  const binName = b.bin;
  const go = findOnPath('go');
  if (!go) {
    throw new Error(
      `${binName} is not on PATH and Go is not installed to build it. Install Go (https://go.dev/dl, or your package manager), or put a '${binName}' binary on PATH, then retry.`,
    );
  }
  await withLock(path.join(dir, '.lock'), log, async () => {
    const bin = path.join(dir, 'bin', binName);
    if (existsSync(bin)) return; // built by whoever held the lock before us
    const staging = path.join(dir, `staging-${process.pid}`);
    rmSync(staging, { recursive: true, force: true });
    log(`building ${pkg} with ${go} into ${dir} (first run only; a cold build takes several minutes)`);
    const started = Date.now();
    let packages = 0;
    const args = b.args[0] === 'build' ? [...b.args.slice(0, -1), '-o', path.join(staging, binName), pkg] : b.args;
    const child = spawn(go, args, {
      cwd: b.moduleDir,
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
        if (packages % 200 === 0) log(`  … ${packages} packages compiled (${Math.round((Date.now() - started) / 1000)}s)`);
      }
    });
    const ticker = setInterval(() => log(`  … still building (${Math.round((Date.now() - started) / 1000)}s, ${packages} packages)`), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(ticker);
    if (code !== 0) {
      rmSync(staging, { recursive: true, force: true });
      throw new Error(`go install ${pkg} failed (exit ${code}):${stderrTail}`);
    }
    mkdirSync(path.join(dir, 'bin'), { recursive: true });
    renameSync(path.join(staging, binName), bin);
    rmSync(staging, { recursive: true, force: true });
    log(`built ${binName} in ${Math.round((Date.now() - started) / 1000)}s`);
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
