// What every CLI command starts from: the registry, a Temporal client, and ways to find a
// follower and read its state without writing anything.
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
// The Temporal client loads when a command first connects (dynamic imports below): `--version`,
// `--help` and the local checks never pay for it.
import type { Client, Connection, WorkflowExecutionDescription } from '@temporalio/client';
import { ConfigError, DEFAULT_REGISTRY, loadRegistry, type Registry } from '../config/registry.ts';
import { ConnectionConfigError, type TemporalSecurity } from '../worker/connection.ts';
import { TargetError, type TemporalTarget } from '../config/target.ts';
import { cliTarget, ProfileError } from './temporal-profile.ts';
import { followerPageUrl, stateQuery, workflowIdFor } from '../contract/messages.ts';
import type { FollowerSpec } from '../contract/spec.ts';
import type { FollowerView } from '../contract/state.ts';
import { commonJs } from './common-js.ts';
import { CliError, Exit } from './output.ts';

export interface Ctx {
  registry: Registry;
  target: TemporalTarget;
  client: Client;
  close(): Promise<void>;
}

/** The registry at `file` (`from` says who named it), or a usage error that says how to name one. */
export function readRegistry(file: string, from: string): Registry {
  if (!existsSync(file))
    throw new CliError(
      `no registry at ${file} (from ${from})`,
      `name one with --registry FILE or BRANCH_FOLLOWER_REGISTRY=FILE, or run from the directory that holds ${DEFAULT_REGISTRY}`,
      Exit.Usage,
    );
  try {
    return loadRegistry(file);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new CliError('invalid registry:', 'fix the file; nothing was applied', Exit.Usage, err.lines);
    throw err;
  }
}

/** How long the CLI waits for the server's port before it says why it cannot reach it. */
const REACH_TIMEOUT_MS = 2000;
/** The gRPC handshake's budget once the port answered: TLS to a remote server takes round trips more. */
const TLS_CONNECT_TIMEOUT_MS = 5000;

/** gRPC status codes the CLI tells apart (the numbers are gRPC's, the same in every language). */
const GRPC = { NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAUTHENTICATED: 16 } as const;

/** The gRPC status of a failed call: on the error itself, or on the SDK's ServiceError around it. */
function grpcCode(err: unknown): number | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  const code = typeof e?.code === 'number' ? e.code : e?.cause?.code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Why nothing answers at `address`, or undefined when its port accepts a connection. A plain TCP
 * connection first: the gRPC client only says "Failed to connect before the deadline", late.
 */
export function unreachableBecause(address: string, timeoutMs = REACH_TIMEOUT_MS): Promise<string | undefined> {
  const at = /^\[?([^\]]+?)\]?:(\d+)$/.exec(address);
  if (!at) return Promise.resolve(`"${address}" is not host:port`);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: at[1], port: Number(at[2]) });
    const done = (why: string | undefined) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs / 1000}s`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(SOCKET_ERRORS[err.code ?? ''] ?? err.message));
  });
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused (nothing listens on that port)',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found (name lookup failed)',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
};

/** `namespace`: the -n flag, over everything else. */
export async function connect(registry: Registry, namespace?: string): Promise<Ctx> {
  let target: TemporalTarget;
  let security: TemporalSecurity;
  try {
    ({ target, security } = await cliTarget(registry));
    if (namespace) Object.assign(target, { namespace, namespaceFrom: '-n' });
  } catch (err) {
    if (err instanceof ConnectionConfigError || err instanceof TargetError)
      throw new CliError(err.message, 'the CLI reads the same variables as the worker (docs/deploy.md)', Exit.Usage);
    if (err instanceof ProfileError)
      throw new CliError(
        err.message,
        'fix the file, or unset TEMPORAL_PROFILE to use the registry (docs/cli.md)',
        Exit.Usage,
      );
    throw err;
  }
  const unreachable = (why: string) =>
    new CliError(
      `cannot reach Temporal at ${target.address} (from ${target.addressFrom}): ${why}`,
      target.addressFrom.startsWith('controller.temporal.address')
        ? 'start the embedded default with `npm start`, or point BRANCH_FOLLOWER_TEMPORAL_ADDRESS at your server'
        : target.addressFrom === 'BRANCH_FOLLOWER_TEMPORAL_ADDRESS'
          ? "is the server up at that address? unset BRANCH_FOLLOWER_TEMPORAL_ADDRESS to use the registry's controller.temporal.address"
          : `is the server up at that address? BRANCH_FOLLOWER_TEMPORAL_ADDRESS overrides ${target.addressFrom} (docs/cli.md)`,
      Exit.Unreachable,
    );
  const why = await unreachableBecause(target.address);
  if (why) throw unreachable(why);
  const { Client, Connection } = commonJs(await import('@temporalio/client'));
  let connection: Connection;
  try {
    connection = await Connection.connect({
      address: target.address,
      connectTimeout: security.tls ? TLS_CONNECT_TIMEOUT_MS : REACH_TIMEOUT_MS,
      ...security,
    });
  } catch (err) {
    const code = grpcCode(err);
    const said = ((err as Error).cause instanceof Error ? (err as Error).cause : err) as Error;
    if (code === GRPC.UNAUTHENTICATED || code === GRPC.PERMISSION_DENIED)
      throw new CliError(
        `Temporal at ${target.address} (from ${target.addressFrom}) refused the credentials: ${said.message.split('\n')[0]}`,
        'check the API key or the TLS client certificate the CLI uses (docs/cli.md)',
        Exit.Usage,
      );
    // The probe above got through: something listens there, but not a Temporal server that answers.
    throw unreachable(`the port accepts connections, but Temporal did not answer: ${said.message.split('\n')[0]}`);
  }
  return {
    registry,
    target,
    client: new Client({ connection, namespace: target.namespace }),
    close: () => connection.close(),
  };
}

/**
 * When a command failed with "not found": a usage error if what is missing is the namespace. The
 * server is asked, once: a command's calls run in parallel, and the first to fail may be a raw
 * gRPC call that says NOT_FOUND without saying what was not found.
 */
export async function namespaceMissing(err: unknown, ctx: Ctx): Promise<CliError | undefined> {
  const { NamespaceNotFoundError } = commonJs(await import('@temporalio/client'));
  if (!(err instanceof NamespaceNotFoundError) && grpcCode(err) !== GRPC.NOT_FOUND) return undefined;
  const { address, namespace, namespaceFrom } = ctx.target;
  try {
    await ctx.client.connection.withDeadline(Date.now() + REACH_TIMEOUT_MS, () =>
      ctx.client.workflowService.describeNamespace({ namespace }),
    );
    return undefined;
  } catch (asked) {
    if (grpcCode(asked) !== GRPC.NOT_FOUND) return undefined;
  }
  return new CliError(
    `the Temporal server at ${address} has no namespace "${namespace}" (from ${namespaceFrom})`,
    `name another with -n, or create it: temporal operator namespace create --address ${address} --namespace ${namespace}`,
    Exit.Usage,
  );
}

export function findSpec(registry: Registry, id: string): FollowerSpec {
  const found = registry.followers.find((f) => f.spec.id === id);
  if (!found) {
    throw new CliError(
      `no follower "${id}" in ${registry.file}`,
      `followers: ${registry.followers.map((f) => f.spec.id).join(', ')}`,
      Exit.NotFound,
    );
  }
  return found.spec;
}

type Handle = ReturnType<Client['workflow']['getHandle']>;

/** What `read` finds in a running workflow; undefined when it is not running (or never ran). */
export async function ifRunning<T>(
  client: Client,
  workflowId: string,
  read: (handle: Handle, described: WorkflowExecutionDescription) => Promise<T>,
): Promise<T | undefined> {
  const handle = client.workflow.getHandle(workflowId);
  let described: WorkflowExecutionDescription;
  try {
    described = await handle.describe();
  } catch (err) {
    if (err instanceof commonJs(await import('@temporalio/client')).WorkflowNotFoundError) return undefined;
    throw err;
  }
  return described.status.name === 'RUNNING' ? read(handle, described) : undefined;
}

/** The follower's state if its workflow is running; undefined when it is not. */
export const runningState = (client: Client, id: string): Promise<FollowerView | undefined> =>
  ifRunning(client, workflowIdFor(id), (handle) => handle.query(stateQuery));

export async function requireState(ctx: Ctx, id: string): Promise<FollowerView> {
  findSpec(ctx.registry, id);
  const state = await runningState(ctx.client, id);
  if (!state)
    throw new CliError(
      `follower ${id} is not running`,
      'start it with `branch-follower apply --confirm`',
      Exit.NotFound,
    );
  return state;
}

export interface ControllerInfo {
  address: string;
  namespace: string;
  taskQueue: string;
  /** Distinct worker identities polling the task queue for workflow tasks. */
  workers: string[];
  uiUrl?: string;
}

export async function controllerInfo(ctx: Ctx): Promise<ControllerInfo> {
  const { TaskQueueKind, TaskQueueType } = commonJs(await import('@temporalio/proto')).temporal.api.enums.v1;
  const res = await ctx.client.workflowService.describeTaskQueue({
    namespace: ctx.target.namespace,
    taskQueue: { name: ctx.target.taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  const workers = [...new Set((res.pollers ?? []).map((p) => p.identity ?? '?'))];
  return { ...ctx.target, workers, uiUrl: ctx.registry.controller.temporal.uiUrl };
}

export const uiLink = (info: ControllerInfo, id: string): string | undefined =>
  info.uiUrl ? followerPageUrl(info.uiUrl, info.namespace, id) : undefined;
