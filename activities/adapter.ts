// Adapter commands: argv templates from the registry, rendered with the follower's values and
// run without a shell. Secrets reach the adapter only as environment variables named in the
// registry, read from the worker's own environment, and are scrubbed from anything returned.
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import {
  planTrigger,
  RUNTIME_PHASES,
  type RuntimeStatus,
  type SecretPresence,
  type TriggerResult,
} from '../contract/adapter.ts';
import { renderString } from '../config/placeholders.ts';
import { FailureCode } from '../contract/codes.ts';
import { SHA_PATTERN } from '../contract/format.ts';
import type { AdapterSpec, CommandAdapterSpec, CommandTemplate } from '../contract/spec.ts';
import { failure } from './failure.ts';
import { runCommand, SpawnError, tail, type RunResult } from './run-command.ts';
import { triggerIdFor } from './trigger-key.ts';

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
  sha: z
    .union([z.string().regex(SHA_PATTERN, 'sha must be 40 or 64 lowercase hex digits'), z.literal(''), z.null()])
    .optional(),
  jobId: z.string().max(253).nullable().optional(),
  triggerId: z.string().max(253).nullable().optional(),
  message: z.string().nullable().optional(),
  retryable: z.boolean().nullable().optional(),
});

const MAX_MESSAGE = 500;

export function renderArgv(
  template: CommandTemplate,
  call: CommandCall,
  registryDir: string,
  values: { sha?: string; jobId?: string; triggerId?: string },
): string[] {
  const known: Record<string, string | undefined> = {
    ...call.params,
    sha: values.sha,
    jobId: values.jobId,
    triggerId: values.triggerId,
    branch: call.branch,
    follower: call.follower,
    configRef: path.resolve(registryDir, call.configRef),
  };
  const argv = template.argv.map((arg) =>
    renderString(arg, known, (name) => {
      throw failure(
        FailureCode.AdapterFailed,
        `adapter ${call.adapter.id}: no value for {${name}}${name === 'jobId' ? ' (no job id is known yet)' : ''}`,
        false,
      );
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
      // A trigger killed on its timeout may have been accepted before it hung.
      throw failure(
        FailureCode.AdapterTimeout,
        `adapter ${adapter.id} ${op} did not finish within ${adapter.timeoutMs}ms; killed with its process group`,
        true,
        { mayHaveReached: op === 'trigger' },
      );
    }
    return res;
  } catch (err) {
    if (err instanceof SpawnError) {
      throw failure(FailureCode.AdapterMissing, `adapter ${adapter.id} ${op}: ${err.message}`, true);
    }
    throw err;
  }
}

export function parseStatus(adapterId: string, res: RunResult): RuntimeStatus {
  if (res.truncated) {
    throw failure(
      FailureCode.InvalidStatus,
      `adapter ${adapterId} status printed more than its maxOutputBytes; expected one compact JSON object`,
      false,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(res.stdout);
  } catch {
    throw failure(
      FailureCode.InvalidStatus,
      `adapter ${adapterId} status did not print JSON: ${JSON.stringify(tail(res.stdout, 120))}`,
      false,
    );
  }
  const parsed = statusSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw failure(
      FailureCode.InvalidStatus,
      `adapter ${adapterId} status: ${first.path.join('.') || 'value'}: ${first.message}`,
      false,
    );
  }
  const s = parsed.data;
  return {
    phase: s.phase,
    ...(s.sha ? { sha: s.sha } : {}),
    ...(s.jobId ? { jobId: s.jobId } : {}),
    ...(s.triggerId ? { triggerId: s.triggerId } : {}),
    ...(s.message ? { message: s.message.slice(0, MAX_MESSAGE) } : {}),
    ...(typeof s.retryable === 'boolean' ? { retryable: s.retryable } : {}),
  };
}

export async function adapterStatus(
  call: CommandCall,
  sha: string | undefined,
  ctx: AdapterContext,
): Promise<RuntimeStatus> {
  const argv = renderArgv(call.adapter.status, call, ctx.registryDir, { sha });
  const res = await run(call, 'status', argv, ctx);
  if (res.exitCode !== 0) {
    throw failure(
      FailureCode.AdapterFailed,
      `adapter ${call.adapter.id} status exited ${res.exitCode ?? res.signal}: ${tail(res.stderr || res.stdout, 300)}`,
      true,
    );
  }
  return parseStatus(call.adapter.id, res);
}

export interface TriggerAskInput {
  sha: string;
  run: number;
  /** An operator's redeploy. */
  manual: boolean;
  /** An earlier try of this key may have reached the runtime (contract/adapter.ts planTrigger). */
  maybeFired: boolean;
}

/**
 * Asks the runtime to deploy `sha` under the key (follower, sha, run), at most once per key: the
 * runtime's status, read first, decides whether anything fires (contract/adapter.ts planTrigger).
 */
export async function adapterTrigger(
  call: CommandCall,
  ask: TriggerAskInput,
  ctx: AdapterContext,
): Promise<TriggerResult> {
  const triggerId = triggerIdFor(call.follower, ask.sha, ask.run);
  const secrets = secretPresence(call.adapter.env, ctx.env);
  const before = await adapterStatus(call, ask.sha, ctx);
  const plan = planTrigger(before, { sha: ask.sha, triggerId, manual: ask.manual, maybeFired: ask.maybeFired });
  if (!plan.fire) {
    return {
      fired: false,
      alreadyRunning: true,
      secrets,
      ...(before.triggerId ? { triggerId: before.triggerId } : {}),
      ...(before.jobId ? { jobId: before.jobId } : {}),
    };
  }
  const argv = renderArgv(call.adapter.trigger, call, ctx.registryDir, { sha: ask.sha, triggerId });
  const res = await run(call, 'trigger', argv, ctx);
  const reply = jsonObject(res.stdout);
  if (res.exitCode !== 0) {
    // By the contract a trigger that exits non-zero was not accepted.
    const retryable = typeof reply?.retryable === 'boolean' ? reply.retryable : true;
    const why = typeof reply?.message === 'string' ? reply.message : tail(res.stderr || res.stdout, 300);
    throw failure(
      FailureCode.AdapterFailed,
      `adapter ${call.adapter.id} trigger exited ${res.exitCode ?? res.signal}: ${why.slice(0, MAX_MESSAGE)}`,
      retryable,
    );
  }
  const jobId = typeof reply?.jobId === 'string' ? reply.jobId.slice(0, 253) : undefined;
  return { fired: true, triggerId, alreadyRunning: false, secrets, ...(jobId ? { jobId } : {}) };
}

/** The worker's key for secret fingerprints (a Secret every worker shares); without it, secrets show presence only. */
export const FINGERPRINT_KEY_ENV = 'BRANCH_FOLLOWER_FINGERPRINT_KEY';

/**
 * Which declared env names the worker has, each with a short keyed fingerprint: enough to tell a
 * rotated or missing token, never the value. Keyed (HMAC-SHA256 with a key only the workers hold),
 * because a plain hash in history would let anyone who reads history test guesses of a weak token.
 */
export function secretPresence(names: string[], env: NodeJS.ProcessEnv): SecretPresence[] {
  const key = env[FINGERPRINT_KEY_ENV];
  return names.map((name) => {
    const value = env[name];
    if (value === undefined || value === '') return { name, present: false };
    return key
      ? {
          name,
          present: true,
          fingerprint: `hmac-sha256:${createHmac('sha256', key).update(value).digest('hex').slice(0, 12)}`,
        }
      : { name, present: true };
  });
}

export async function adapterCancel(
  call: CommandCall,
  sha: string,
  jobId: string | undefined,
  ctx: AdapterContext,
): Promise<void> {
  if (!call.adapter.cancel) return;
  const argv = renderArgv(call.adapter.cancel, call, ctx.registryDir, { sha, jobId });
  const res = await run(call, 'cancel', argv, ctx);
  if (res.exitCode !== 0) {
    throw failure(
      FailureCode.AdapterFailed,
      `adapter ${call.adapter.id} cancel exited ${res.exitCode ?? res.signal}: ${tail(res.stderr || res.stdout, 300)}`,
      true,
    );
  }
}

/** Runs the adapter's `logs` drill-down (for the operator CLI); output is capped and scrubbed. */
export async function adapterLogs(
  call: CommandCall,
  sha: string | undefined,
  jobId: string | undefined,
  ctx: AdapterContext,
): Promise<RunResult> {
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
