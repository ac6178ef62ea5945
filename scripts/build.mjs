// The compiled CLI and worker: plain JavaScript in dist/, so nothing transpiles TypeScript when an
// operator runs a command. `npm ci` builds them (prepare); the `branch-follower` bin rebuilds the
// CLI first when a source it was built from changed since (a pull, an edit), so it is never stale.
// Plain JavaScript itself: it runs before anything is compiled.
//   node scripts/build.mjs                    the CLI and the worker
//   node scripts/build.mjs --workflow-bundle  also dist/workflows.js, the prebuilt workflow bundle
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = path.join(ROOT, 'dist');
/** The compiled worker (its dependencies stay in node_modules). */
export const WORKER_ENTRY = path.join(DIST, 'worker.mjs');
/** The CLI's entry module and its chunks; what it was built from is listed beside it. */
const CLI_DIR = path.join(DIST, 'cli');
const CLI_INPUTS = path.join(CLI_DIR, 'inputs.json');
export const CLI_ENTRY = path.join(CLI_DIR, 'cli.mjs');

/**
 * The CLI bundles its dependencies and splits at dynamic imports: `--version` or a local check
 * loads only commander, yaml, zod and our code; the Temporal and Kubernetes clients load when a
 * command first reaches for them.
 */
async function buildCli(esbuild) {
  const tmp = `${CLI_DIR}.tmp-${process.pid}`;
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
  // Our own sources and the lockfile: a changed dependency changes the lockfile.
  const inputs = [
    ...Object.keys(result.metafile.inputs).filter((f) => !f.includes('node_modules/')),
    'package-lock.json',
    'package.json',
  ];
  writeFileSync(path.join(tmp, 'inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
  // Swapped in whole, so a CLI starting meanwhile finds the old build or the new one, never half.
  const old = `${CLI_DIR}.old-${process.pid}`;
  if (existsSync(CLI_DIR)) renameSync(CLI_DIR, old);
  renameSync(tmp, CLI_DIR);
  rmSync(old, { recursive: true, force: true });
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
  // WORKFLOWS_PATH in worker/worker.ts names the same module.
  const { code } = await bundleWorkflowCode({ workflowsPath: path.join(ROOT, 'workflows', 'index.ts') });
  writeFileSync(path.join(DIST, 'workflows.js'), code);
}

/** Whether the CLI build is missing, or older than any file it was built from. */
function cliStale() {
  let builtAt;
  let inputs;
  try {
    builtAt = statSync(CLI_INPUTS).mtimeMs;
    inputs = JSON.parse(readFileSync(CLI_INPUTS, 'utf8'));
  } catch {
    return true;
  }
  return inputs.some((file) => {
    try {
      return statSync(path.join(ROOT, file)).mtimeMs > builtAt;
    } catch {
      return true; // deleted or renamed since
    }
  });
}

/** The CLI's entry, rebuilt first when stale. */
export async function freshCli() {
  if (cliStale()) {
    process.stderr.write('branch-follower: sources changed since the last build; compiling the CLI (once)…\n');
    await buildCli(await import('esbuild'));
  }
  return CLI_ENTRY;
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
