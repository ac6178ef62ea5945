// Reads branch heads from the git mirror: the mirror is the only authority for branch heads. A
// git:// mirror is read in process (activities/git-protocol.ts), asking only for the refs
// wanted; any other URL with `git ls-remote` given those refs as patterns, run in an empty work
// directory with no user or system git config, so no local checkout, remote name or `insteadOf`
// rewrite can change the answer. There is no fallback to any other host. A mirror's credentials
// come from the worker's environment, by the names its `source.auth` gives, into git's
// environment only: never argv, never the URL, never history.
import path from 'node:path';
import { FailureCode } from '../contract/codes.ts';
import { SHA_PATTERN } from '../contract/format.ts';
import type { MirrorAuth } from '../contract/spec.ts';
import { failure } from './failure.ts';
import { GitProtocolError, readRefs as readGitRefs } from './git-protocol.ts';
import { runCommand, tail } from './run-command.ts';

export interface ObserveInput {
  mirror: string;
  branch: string;
  /** Names of the variables holding the mirror's credentials (absent: none). */
  auth?: MirrorAuth;
  timeoutMs: number;
  /** When the workflow meant this read to happen (for lag measurements; absent in older histories). */
  dueAt?: number;
}

export interface HeadsInput {
  mirror: string;
  auth?: MirrorAuth;
  timeoutMs: number;
  dueAt?: number;
  /** Only these branches (a watcher's followers'): a repository's other heads stay out of the history. */
  branches?: string[];
}

const LS_REMOTE_NO_MATCH = 2;
/**
 * A mirror's answer past this is not an answer (a server sending garbage, or a v0-only server
 * advertising a flood of refs): the read fails with MirrorAdvertisementTooLarge. Memory does not
 * depend on it: the git:// reader holds one packet at a time, ls-remote's output is capped.
 */
export const MAX_ADVERTISEMENT = 64 * 1024 * 1024;
const HEADS = 'refs/heads/';

export async function readBranchHead(
  input: ObserveInput,
  workDir: string,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<{ sha: string }> {
  const ref = `${HEADS}${input.branch}`;
  // Only the exact ref counts (ls-remote patterns match ref tails, ref-prefix matches beginnings).
  const sha = (await readRefs(input, [ref], workDir, env, signal)).get(ref);
  if (!sha)
    throw failure(FailureCode.BranchNotFound, `branch ${input.branch} does not exist on ${input.mirror}`, false);
  return { sha };
}

/** The branch heads of the mirror repository (all, or the ones asked for): branch name → sha. */
export async function readBranchHeads(
  input: HeadsInput,
  workDir: string,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<Record<string, string>> {
  const refs = await readRefs(
    input,
    input.branches?.map((b) => `${HEADS}${b}`),
    workDir,
    env,
    signal,
  );
  const heads: Record<string, string> = {};
  for (const [ref, sha] of refs) if (ref.startsWith(HEADS)) heads[ref.slice(HEADS.length)] = sha;
  return heads;
}

/**
 * ref → sha for exactly the refs asked for (every head when `wanted` is absent), every sha
 * checked. Only those refs are asked of the mirror, so refs nobody follows cost (almost) nothing.
 */
async function readRefs(
  input: { mirror: string; timeoutMs: number; auth?: MirrorAuth },
  wanted: string[] | undefined,
  workDir: string,
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const { mirror, timeoutMs } = input;
  // No branch to read still reads something (HEAD: one line), so a read proves the mirror answers.
  if (wanted?.length === 0) wanted = ['HEAD'];
  const refs = mirror.startsWith('git://')
    ? await readGitProtocol(mirror, wanted, timeoutMs, signal)
    : await lsRemote(mirror, wanted, timeoutMs, workDir, credentials(input.auth, env), signal);
  for (const [name, sha] of refs) {
    if (!SHA_PATTERN.test(sha)) {
      throw failure(
        FailureCode.InvalidObservation,
        `mirror returned ${JSON.stringify(sha.slice(0, 80))} for ${name}, which is not a sha`,
        true,
      );
    }
  }
  return refs;
}

async function readGitProtocol(
  mirror: string,
  wanted: string[] | undefined,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const exact = wanted && new Set(wanted);
  try {
    const answer = await readGitRefs(new URL(mirror), {
      prefixes: wanted ?? [HEADS],
      keep: (ref) => (exact ? exact.has(ref) : ref.startsWith(HEADS)),
      timeoutMs,
      maxBytes: MAX_ADVERTISEMENT,
      signal,
    });
    return answer.refs;
  } catch (err) {
    if (err instanceof GitProtocolError && err.kind === 'tooLarge') throw tooLarge(mirror, err.message);
    if (err instanceof GitProtocolError)
      throw failure(FailureCode.MirrorUnreachable, `reading ${mirror}: ${err.message}`, true);
    throw err;
  }
}

/** Retryable: the next read may fit (the refs cleaned up, the server fixed). */
const tooLarge = (mirror: string, why: string) =>
  failure(FailureCode.MirrorAdvertisementTooLarge, `reading ${mirror}: ${why}`, true);

/** What git needs to authenticate, as environment variables, and the values to scrub from its output. */
interface Credentials {
  env: Record<string, string>;
  redact: { name: string; value: string }[];
}

/** The mirror's credentials from the worker's environment; a variable that is not set is a clear failure, not an anonymous read. */
export function credentials(auth: MirrorAuth | undefined, env: NodeJS.ProcessEnv): Credentials {
  if (!auth) return { env: {}, redact: [] };
  const value = (name: string): string => {
    const v = env[name];
    if (!v)
      throw failure(
        FailureCode.MirrorUnreachable,
        `the mirror's credentials are in ${name}, which is not set in the worker's environment`,
        true,
      );
    return v;
  };
  const header = (name: string, headerValue: string, secret: string) => ({
    env: {
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: ${headerValue}`,
    },
    redact: [
      { name, value: secret },
      { name, value: headerValue },
    ],
  });
  if ('bearerTokenEnv' in auth) {
    const token = value(auth.bearerTokenEnv);
    return header(auth.bearerTokenEnv, `Bearer ${token}`, token);
  }
  if ('basicEnv' in auth) {
    const password = value(auth.basicEnv.password);
    const basic = Buffer.from(`${value(auth.basicEnv.username)}:${password}`).toString('base64');
    return header(auth.basicEnv.password, `Basic ${basic}`, password);
  }
  const keyFile = value(auth.sshKeyFileEnv);
  // ssh runs GIT_SSH_COMMAND through a shell: the path must be plain.
  if (!/^\/[A-Za-z0-9._/-]+$/.test(keyFile))
    throw failure(
      FailureCode.MirrorUnreachable,
      `${auth.sshKeyFileEnv} must hold an absolute path of letters, digits and ._/-`,
      false,
    );
  return {
    env: { GIT_SSH_COMMAND: `ssh -F /dev/null -i ${keyFile} -o IdentitiesOnly=yes -o BatchMode=yes` },
    redact: [],
  };
}

/** `wanted` become patterns (tail matches: the caller keeps the exact refs); --heads asks for refs/heads/ only. */
async function lsRemote(
  mirror: string,
  wanted: string[] | undefined,
  timeoutMs: number,
  workDir: string,
  auth: Credentials,
  signal?: AbortSignal,
): Promise<Map<string, string>> {
  const exact = wanted && new Set(wanted);
  const res = await runCommand({
    argv: ['git', 'ls-remote', '--heads', '--exit-code', '--', mirror, ...(wanted ?? [])],
    cwd: workDir,
    env: { ...gitEnv(workDir), ...auth.env },
    timeoutMs,
    maxOutputBytes: MAX_ADVERTISEMENT,
    signal,
    redact: auth.redact,
  });
  if (res.timedOut)
    throw failure(FailureCode.MirrorUnreachable, `git ls-remote ${mirror} timed out after ${timeoutMs}ms`, true);
  if (res.truncated) throw tooLarge(mirror, `git ls-remote wrote more than ${MAX_ADVERTISEMENT} bytes`);
  if (res.exitCode === LS_REMOTE_NO_MATCH) return new Map();
  if (res.exitCode !== 0)
    throw failure(
      FailureCode.MirrorUnreachable,
      `git ls-remote ${mirror} failed (exit ${res.exitCode ?? res.signal}): ${tail(res.stderr, 300)}`,
      true,
    );
  const refs = new Map<string, string>();
  for (const line of res.stdout.split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha && name && (exact ? exact.has(name) : name.startsWith(HEADS))) refs.set(name, sha);
  }
  return refs;
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
