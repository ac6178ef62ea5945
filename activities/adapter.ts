// Adapter commands: argv templates from the registry, rendered with the follower's values and
// run without a shell. Secrets reach the adapter only as environment variables named in the
// registry, read from the worker's own environment, and are scrubbed from anything returned.
import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import {
  FailureType,
  RUNTIME_PHASES,
  type AdapterSpec,
  type CommandAdapterSpec,
  type CommandTemplate,
  type RuntimeStatus,
  type SecretPresence,
  type TriggerResult,
} from '../workflows/api.ts';
import { failure } from './failure.ts';
import { SHA_PATTERN } from './observe.ts';
import { runCommand, SpawnError, tail, type RunResult } from './run-command.ts';

/** What an adapter activity is given: no secrets, only names. */
export interface AdapterCall<A extends AdapterSpec = AdapterSpec> {
  follower: string;
  branch: string;
  configRef: string;
  params: Record<string, string>;
  adapter: A;
}

type CommandCall = AdapterCall<CommandAdapterSpec>;

export interface AdapterContext {
  /** Base for relative paths in the registry (the registry file's directory). */
  registryDir: string;
  /** Where adapters run: an empty directory, never a source checkout. */
  workDir: string;
  /** The worker's environment; only PATH and the adapter's declared names are passed on. */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

const statusSchema = z.object({
  phase: z.enum(RUNTIME_PHASES),
  sha: z.union([z.string().regex(SHA_PATTERN, 'sha must be 40 or 64 lowercase hex digits'), z.literal(''), z.null()]).optional(),
  jobId: z.string().max(253).nullable().optional(),
  message: z.string().nullable().optional(),
  retryable: z.boolean().nullable().optional(),
});

const MAX_MESSAGE = 500;

export function renderArgv(
  template: CommandTemplate,
  call: CommandCall,
  registryDir: string,
  values: { sha?: string; jobId?: string },
): string[] {
  const known: Record<string, string | undefined> = {
    ...call.params,
    sha: values.sha,
    jobId: values.jobId,
    branch: call.branch,
    follower: call.follower,
    configRef: path.resolve(registryDir, call.configRef),
  };
  const argv = template.argv.map((arg) =>
    arg.replace(/\{([^{}]*)\}/g, (_m, name: string) => {
      const v = known[name];
      if (v === undefined) {
        throw failure(FailureType.AdapterFailed, `adapter ${call.adapter.id}: no value for {${name}}${name === 'jobId' ? ' (no job id is known yet)' : ''}`, false);
      }
      return v;
    }),
  );
  const program = argv[0]!;
  if (program.includes('/')) argv[0] = path.resolve(registryDir, program);
  return argv;
}

async function run(call: CommandCall, op: string, argv: string[], ctx: AdapterContext): Promise<RunResult> {
  const { adapter } = call;
  const env: Record<string, string> = { PATH: ctx.env.PATH ?? '/usr/bin:/bin' };
  const secrets: { name: string; value: string }[] = [];
  for (const name of adapter.env) {
    const value = ctx.env[name];
    if (value !== undefined) {
      env[name] = value;
      secrets.push({ name, value });
    }
  }
  try {
    const res = await runCommand({
      argv,
      cwd: ctx.workDir,
      env,
      timeoutMs: adapter.timeoutMs,
      maxOutputBytes: adapter.maxOutputBytes,
      signal: ctx.signal,
      redact: secrets,
    });
    if (res.timedOut) {
      throw failure(FailureType.AdapterTimeout, `adapter ${adapter.id} ${op} did not finish within ${adapter.timeoutMs}ms; killed with its process group`, true);
    }
    return res;
  } catch (err) {
    if (err instanceof SpawnError) {
      throw failure(FailureType.AdapterMissing, `adapter ${adapter.id} ${op}: ${err.message}`, true);
    }
    throw err;
  }
}

export function parseStatus(adapterId: string, res: RunResult): RuntimeStatus {
  if (res.truncated) {
    throw failure(FailureType.InvalidStatus, `adapter ${adapterId} status printed more than its maxOutputBytes; expected one compact JSON object`, false);
  }
  let json: unknown;
  try {
    json = JSON.parse(res.stdout);
  } catch {
    throw failure(FailureType.InvalidStatus, `adapter ${adapterId} status did not print JSON: ${JSON.stringify(tail(res.stdout, 120))}`, false);
  }
  const parsed = statusSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw failure(FailureType.InvalidStatus, `adapter ${adapterId} status: ${first.path.join('.') || 'value'}: ${first.message}`, false);
  }
  const s = parsed.data;
  return {
    phase: s.phase,
    ...(s.sha ? { sha: s.sha } : {}),
    ...(s.jobId ? { jobId: s.jobId } : {}),
    ...(s.message ? { message: s.message.slice(0, MAX_MESSAGE) } : {}),
    ...(typeof s.retryable === 'boolean' ? { retryable: s.retryable } : {}),
  };
}

export async function adapterStatus(call: CommandCall, sha: string | undefined, ctx: AdapterContext): Promise<RuntimeStatus> {
  const argv = renderArgv(call.adapter.status, call, ctx.registryDir, { sha });
  const res = await run(call, 'status', argv, ctx);
  if (res.exitCode !== 0) {
    throw failure(FailureType.AdapterFailed, `adapter ${call.adapter.id} status exited ${res.exitCode ?? res.signal}: ${tail(res.stderr || res.stdout, 300)}`, true);
  }
  return parseStatus(call.adapter.id, res);
}

/**
 * Asks the runtime to deploy `sha`, once: if its status already shows that sha pending, running
 * or done (a retried activity after a worker crash, say), nothing is fired again. A manual
 * redeploy is meant to run again after success, so for it only work in progress counts.
 */
export async function adapterTrigger(call: CommandCall, sha: string, redeploy: boolean, ctx: AdapterContext): Promise<TriggerResult> {
  const before = await adapterStatus(call, sha, ctx);
  const active: RuntimeStatus['phase'][] = redeploy ? ['Pending', 'Running'] : ['Pending', 'Running', 'Succeeded'];
  if (before.sha === sha && active.includes(before.phase)) {
    return { alreadyRunning: true, secrets: secretPresence(call.adapter.env, ctx.env), ...(before.jobId ? { jobId: before.jobId } : {}) };
  }
  const argv = renderArgv(call.adapter.trigger, call, ctx.registryDir, { sha });
  const res = await run(call, 'trigger', argv, ctx);
  const reply = jsonObject(res.stdout);
  if (res.exitCode !== 0) {
    const retryable = typeof reply?.retryable === 'boolean' ? reply.retryable : true;
    const why = typeof reply?.message === 'string' ? reply.message : tail(res.stderr || res.stdout, 300);
    throw failure(FailureType.AdapterFailed, `adapter ${call.adapter.id} trigger exited ${res.exitCode ?? res.signal}: ${why.slice(0, MAX_MESSAGE)}`, retryable);
  }
  const jobId = typeof reply?.jobId === 'string' ? reply.jobId.slice(0, 253) : undefined;
  return { alreadyRunning: false, secrets: secretPresence(call.adapter.env, ctx.env), ...(jobId ? { jobId } : {}) };
}

/** Which declared env names the worker has, each with a short fingerprint: enough to tell a rotated or missing token, never the value. */
export function secretPresence(names: string[], env: NodeJS.ProcessEnv): SecretPresence[] {
  return names.map((name) => {
    const value = env[name];
    return value === undefined || value === ''
      ? { name, present: false }
      : { name, present: true, fingerprint: `sha256:${createHash('sha256').update(value).digest('hex').slice(0, 12)}` };
  });
}

export async function adapterCancel(call: CommandCall, sha: string, jobId: string | undefined, ctx: AdapterContext): Promise<void> {
  if (!call.adapter.cancel) return;
  const argv = renderArgv(call.adapter.cancel, call, ctx.registryDir, { sha, jobId });
  const res = await run(call, 'cancel', argv, ctx);
  if (res.exitCode !== 0) {
    throw failure(FailureType.AdapterFailed, `adapter ${call.adapter.id} cancel exited ${res.exitCode ?? res.signal}: ${tail(res.stderr || res.stdout, 300)}`, true);
  }
}

/** Runs the adapter's `logs` drill-down (for the operator CLI); output is capped and scrubbed. */
export async function adapterLogs(call: CommandCall, sha: string | undefined, jobId: string | undefined, ctx: AdapterContext): Promise<RunResult> {
  if (!call.adapter.logs) throw new Error(`adapter ${call.adapter.id} declares no logs command`);
  return run(call, 'logs', renderArgv(call.adapter.logs, call, ctx.registryDir, { sha, jobId }), ctx);
}

function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
