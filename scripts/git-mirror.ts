// A local git mirror: bare repositories served by `git daemon` on loopback. The embedded
// default and the tests use it in place of the cluster's mirror.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const GIT_IDENTITY = [
  '-c',
  'user.name=branch-follower demo',
  '-c',
  'user.email=demo@branch-follower.invalid',
  '-c',
  'init.defaultBranch=main',
];

function git(args: string[], cwd?: string): string {
  return execFileSync('git', [...GIT_IDENTITY, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
  }).trim();
}

export interface SeedRepo {
  /** Path under the mirror root, e.g. pikasTech/HWLAB. */
  repo: string;
  branches: { name: string; commits: number }[];
}

/** The bare repository `repo` is served from under `root`. */
export const repoDir = (root: string, repo: string): string => path.join(root, `${repo}.git`);

/** Creates each bare repository that does not exist yet, with a few commits per branch. */
export function seedMirror(root: string, repos: SeedRepo[]): string[] {
  const created: string[] = [];
  for (const r of repos) {
    const bare = repoDir(root, r.repo);
    if (existsSync(bare)) continue;
    mkdirSync(bare, { recursive: true });
    git(['init', '--quiet', '--bare', bare]);
    for (const b of r.branches) {
      for (let i = 1; i <= b.commits; i++) pushCommit(root, r.repo, b.name, `${r.repo}@${b.name}: change ${i}`);
    }
    created.push(r.repo);
  }
  return created;
}

/** Adds one commit on `branch` (created if absent) and pushes it to the bare repo. Returns its sha. */
export function pushCommit(root: string, repo: string, branch: string, message: string): string {
  const bare = repoDir(root, repo);
  const work = mkdtempSync(path.join(os.tmpdir(), 'bf-push-'));
  try {
    git(['init', '--quiet', work]);
    const exists = git(['ls-remote', '--heads', bare, `refs/heads/${branch}`]) !== '';
    if (exists) {
      git(['fetch', '--quiet', bare, `refs/heads/${branch}`], work);
      git(['checkout', '--quiet', '-B', branch, 'FETCH_HEAD'], work);
    } else {
      git(['checkout', '--quiet', '-b', branch], work);
    }
    git(['commit', '--quiet', '--allow-empty', '-m', message], work);
    git(['push', '--quiet', '--force', bare, `HEAD:refs/heads/${branch}`], work);
    return git(['rev-parse', 'HEAD'], work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Points `branch` at `sha`, creating or force-moving it (a rewind, a recreate). */
export function setBranch(root: string, repo: string, branch: string, sha: string): void {
  git(['--git-dir', repoDir(root, repo), 'update-ref', `refs/heads/${branch}`, sha]);
}

export function deleteBranch(root: string, repo: string, branch: string): void {
  git(['--git-dir', repoDir(root, repo), 'update-ref', '-d', `refs/heads/${branch}`]);
}

/**
 * Adds `count` refs of `nameLength` characters under refs/heads/flood/, all at `sha`, straight
 * into packed-refs (sorted, as git writes it): a push of many long ref names, in milliseconds.
 * Replaces any packed refs the repository had.
 */
export function floodRefs(root: string, repo: string, sha: string, count: number, nameLength: number): void {
  const lines = ['# pack-refs with: peeled fully-peeled sorted '];
  for (let i = 0; i < count; i++) {
    const stem = `refs/heads/flood/${String(i).padStart(8, '0')}-`;
    lines.push(`${sha} ${stem}${'x'.repeat(Math.max(1, nameLength - stem.length))}`);
  }
  writeFileSync(path.join(repoDir(root, repo), 'packed-refs'), lines.join('\n') + '\n');
}

export interface GitDaemon {
  url: (repo: string) => string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** `maxConnections`: git daemon's own limit (32 unless given; 0 is unlimited). */
export async function startGitDaemon(
  root: string,
  host: string,
  port: number,
  opts: { maxConnections?: number } = {},
): Promise<GitDaemon> {
  mkdirSync(root, { recursive: true });
  const limit = opts.maxConnections === undefined ? [] : [`--max-connections=${opts.maxConnections}`];
  const child = spawn(
    'git',
    [
      'daemon',
      '--reuseaddr',
      '--export-all',
      '--enable=receive-pack',
      '--informative-errors',
      ...limit,
      `--base-path=${root}`,
      `--listen=${host}`,
      `--port=${port}`,
      root,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await listening(host, port))) {
    if (child.exitCode !== null) throw new Error(`git daemon exited: ${stderr.trim()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`git daemon did not listen on ${host}:${port}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: (repo) => `git://${host}:${port}/${repo}.git`,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A free TCP port on loopback (for tests and side-by-side runs). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
