// The compiled CLI and worker: plain JavaScript in dist/, so nothing transpiles TypeScript when an
// operator runs a command. `npm ci` builds them (prepare); the `branch-follower` bin rebuilds the
// CLI first when a file it was built from has different contents now (a pull, an edit).
// Plain JavaScript itself: it runs before anything is compiled.
//   node scripts/build.mjs                    the CLI and the worker
//   node scripts/build.mjs --workflow-bundle  also dist/workflows.js, the prebuilt workflow bundle
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = path.join(ROOT, 'dist');
/** The compiled worker (its dependencies stay in node_modules). */
export const WORKER_ENTRY = path.join(DIST, 'worker.mjs');
/**
 * Which CLI build is current: its directory, and the files it was built from with the hash of
 * their contents. Each build has a directory of its own (dist/cli-<hash>/) and this pointer is
 * replaced in one rename, so a CLI that is running keeps the chunks it will still load, and two
 * builds at once both leave a whole build behind.
 */
const CLI_POINTER = path.join(DIST, 'cli.json');
/** Builds other than the current one are removed once they are this old: no CLI runs that long. */
const OLD_BUILD_MS = 24 * 3600_000;
/** What a build depends on beyond the modules esbuild reads: its options and its dependencies. */
export const BUILD_INPUTS = ['scripts/build.mjs', 'tsconfig.json', 'package.json', 'package-lock.json'];

/** One hash over the files' names and contents; a missing file hashes as missing. */
function hashOf(files) {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(`${file}\0`);
    try {
      hash.update(readFileSync(path.join(ROOT, file)));
    } catch {
      hash.update('\0missing\0');
    }
  }
  return hash.digest('hex');
}

/**
 * The CLI bundles its dependencies and splits at dynamic imports: `--version` or a local check
 * loads commander, yaml, zod, the contract's Temporal definitions and our code; the Temporal
 * client and the cluster half (the Kubernetes client) load when a command first reaches for them.
 */
async function buildCli(esbuild) {
  // A file saved while esbuild reads the sources may or may not be in the build: build again.
  for (let attempt = 1; ; attempt++) {
    const startedAt = Date.now();
    const { dir, hash, inputs } = await compileCli(esbuild);
    const changed = inputs.some((file) => {
      try {
        return statSync(path.join(ROOT, file)).mtimeMs >= startedAt;
      } catch {
        return true;
      }
    });
    if (changed && attempt < 3) continue;
    const pointer = `${CLI_POINTER}.tmp-${process.pid}`;
    writeFileSync(pointer, `${JSON.stringify({ dir, hash, inputs }, null, 1)}\n`);
    renameSync(pointer, CLI_POINTER);
    removeOldBuilds(dir);
    return;
  }
}

/** One build into a directory named after the hash of its inputs. */
async function compileCli(esbuild) {
  const tmp = path.join(DIST, `cli.tmp-${process.pid}-${Date.now()}`);
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { cli: 'client/cli.ts' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: tmp,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    // Bundled CommonJS packages still call require() for Node's builtins.
    banner: {
      js: "import { createRequire as __bfRequire } from 'node:module'; const require = __bfRequire(import.meta.url);",
    },
  });
  // Our own sources (dependencies are covered by the lockfile) and the build's own inputs.
  const inputs = [...Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/')), ...BUILD_INPUTS];
  const hash = hashOf(inputs);
  const dir = `cli-${hash.slice(0, 16)}`;
  try {
    renameSync(tmp, path.join(DIST, dir));
  } catch (err) {
    // The same sources were built meanwhile (by another CLI, or npm ci): that build is as good.
    if (err.code !== 'EEXIST' && err.code !== 'ENOTEMPTY') throw err;
    rmSync(tmp, { recursive: true, force: true });
  }
  return { dir, hash, inputs };
}

function removeOldBuilds(current) {
  for (const entry of readdirSync(DIST)) {
    if (!/^cli([-.]|$)/.test(entry) || entry === current || entry === 'cli.json') continue;
    const dir = path.join(DIST, entry);
    if (Date.now() - statSync(dir).mtimeMs > OLD_BUILD_MS) rmSync(dir, { recursive: true, force: true });
  }
}

/** The worker keeps its dependencies external: the SDK loads its native core and bundles workflows itself. */
async function buildWorker(esbuild) {
  await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: { worker: 'worker/main.ts' },
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir: DIST,
    outExtension: { '.js': '.mjs' },
    sourcemap: 'linked',
    logLevel: 'warning',
  });
}

/** The image's workflow bundle, built as the worker would build it at start (same SDK bundler). */
async function buildWorkflowBundle() {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  // WORKFLOW_BUNDLE_OPTIONS in worker/worker.ts (this script cannot import TypeScript).
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(ROOT, 'workflows', 'index.ts'),
    workflowInterceptorModules: [path.join(ROOT, 'workflows', 'task-boundary.ts')],
  });
  writeFileSync(path.join(DIST, 'workflows.js'), code);
}

/** The current CLI build's entry, or undefined when there is none or a file it was built from changed. */
function currentCli() {
  try {
    const { dir, hash, inputs } = JSON.parse(readFileSync(CLI_POINTER, 'utf8'));
    return hashOf(inputs) === hash ? path.join(DIST, dir, 'cli.mjs') : undefined;
  } catch {
    return undefined;
  }
}

/** The CLI's entry, compiled first when there is no current build. */
export async function freshCli() {
  const current = currentCli();
  if (current) return current;
  process.stderr.write('branch-follower: sources changed since the last build; compiling the CLI (once)…\n');
  await buildCli(await import('esbuild'));
  return currentCli() ?? fail('the CLI was compiled, but its sources changed again meanwhile; run the command again');
}

function fail(message) {
  throw new Error(message);
}

/** The CLI and the worker; with `workflowBundle`, the prebuilt workflow bundle too. */
export async function build({ workflowBundle = false } = {}) {
  const esbuild = await import('esbuild');
  await buildCli(esbuild);
  await buildWorker(esbuild);
  if (workflowBundle) await buildWorkflowBundle();
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await build({ workflowBundle: process.argv.includes('--workflow-bundle') });
}
