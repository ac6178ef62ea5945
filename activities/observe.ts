// Reads a branch head from the git mirror with `git ls-remote`: the mirror is the only authority
// for branch heads. It runs in an empty work directory with no user or system git config, so no
// local checkout, remote name or `insteadOf` rewrite can change the answer, and there is no
// fallback to any other host.
import path from 'node:path';
import { FailureType } from '../workflows/api.ts';
import { failure } from './failure.ts';
import { runCommand, tail } from './run-command.ts';

export interface ObserveInput {
  mirror: string;
  branch: string;
  timeoutMs: number;
}

export const SHA_PATTERN = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const LS_REMOTE_NO_MATCH = 2;
const MAX_OUTPUT = 64 * 1024; // one ref line; anything past this is not a ref listing

export async function readBranchHead(input: ObserveInput, workDir: string, signal?: AbortSignal): Promise<{ sha: string }> {
  const ref = `refs/heads/${input.branch}`;
  const res = await runCommand({
    argv: ['git', 'ls-remote', '--exit-code', '--', input.mirror, ref],
    cwd: workDir,
    env: gitEnv(workDir),
    timeoutMs: input.timeoutMs,
    maxOutputBytes: MAX_OUTPUT,
    signal,
  });
  if (res.timedOut) {
    throw failure(FailureType.MirrorUnreachable, `git ls-remote ${input.mirror} timed out after ${input.timeoutMs}ms`, true);
  }
  if (res.exitCode === LS_REMOTE_NO_MATCH) {
    throw failure(FailureType.BranchNotFound, `branch ${input.branch} does not exist on ${input.mirror}`, false);
  }
  if (res.exitCode !== 0) {
    throw failure(FailureType.MirrorUnreachable, `git ls-remote ${input.mirror} failed (exit ${res.exitCode ?? res.signal}): ${tail(res.stderr, 300)}`, true);
  }
  // ls-remote patterns match ref tails; only the exact ref counts.
  const line = res.stdout.split('\n').find((l) => l.split('\t')[1] === ref);
  const sha = line?.split('\t')[0] ?? '';
  if (!line) throw failure(FailureType.BranchNotFound, `branch ${input.branch} does not exist on ${input.mirror}`, false);
  if (!SHA_PATTERN.test(sha)) {
    throw failure(FailureType.InvalidObservation, `mirror returned ${JSON.stringify(sha.slice(0, 80))} for ${ref}, which is not a sha`, true);
  }
  return { sha };
}

/** git with no config but its own: nothing from $HOME, /etc or the directory it runs in. */
function gitEnv(workDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: workDir,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(workDir, 'no-gitconfig'),
    GIT_CEILING_DIRECTORIES: path.dirname(workDir),
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'true',
    LC_ALL: 'C',
  };
}
