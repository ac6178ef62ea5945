// `npm start`: the embedded default. Brings up what the registry's `controller.embedded` block
// declares (a git mirror with demo repos, a Temporal dev server with its UI), then runs the
// worker and one workflow per enabled follower, and prints each follower's phase changes.
// Re-running it reuses whatever is already up and starts no follower twice.
import path from 'node:path';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { sdkLogger, workerLog } from '../worker/log.ts';
import { ConfigError, DEFAULT_REGISTRY, loadRegistry } from '../config/registry.ts';
import { parseDuration } from '../config/duration.ts';
import { splitHostPort } from '../config/host-port.ts';
import { startEnabledFollowers } from '../client/followers.ts';
import { temporalTarget } from '../config/target.ts';
import { shortSha } from '../contract/format.ts';
import { installRuntime, metricsListen } from '../worker/metrics.ts';
import { serveWebhooks, webhooksListen } from '../worker/receiver.ts';
import { createFollowerWorker } from '../worker/worker.ts';
import { serveDemoEvents } from './demo-events.ts';
import { demoWebhookEnv } from './demo-webhooks.ts';
import { stateQuery, workflowIdFor } from '../contract/messages.ts';
import type { FollowerView } from '../contract/state.ts';
import { answers, startDevServer, type DevServer } from './dev-server.ts';
import { listening, seedMirror, startGitDaemon, type GitDaemon, type SeedRepo } from './git-mirror.ts';
import { ensureTemporalCli } from './tools.ts';
import { visibleLine } from '../contract/untrusted/characters.ts';

const log = (line: string): void => console.log(`[start] ${visibleLine(line)}`);

async function main(): Promise<void> {
  const registryFile = process.env.BRANCH_FOLLOWER_REGISTRY ?? DEFAULT_REGISTRY;
  const registry = loadRegistry(registryFile);
  const target = temporalTarget(registry);
  const embedded = registry.controller.embedded;
  const stops: (() => Promise<void>)[] = [];
  let uiUrl = registry.controller.temporal.uiUrl;

  if (embedded) {
    const root = path.resolve(registry.dir, embedded.mirror.root);
    const seed = YAML.parse(readFileSync(path.resolve(registry.dir, embedded.mirror.seed), 'utf8')) as SeedRepo[];
    const created = seedMirror(root, seed);
    if (created.length) log(`created demo repos in ${root}: ${created.join(', ')}`);
    const [host, port] = splitHostPort(embedded.mirror.listen);
    if (await listening(host, port)) {
      log(`git mirror: something already listens on ${embedded.mirror.listen}; using it`);
    } else {
      const daemon: GitDaemon = await startGitDaemon(root, host, port);
      stops.push(() => daemon.stop());
      log(`git mirror: git daemon serving ${root} on git://${embedded.mirror.listen}/`);
    }

    if (process.env.BRANCH_FOLLOWER_TEMPORAL_ADDRESS) {
      log(`Temporal: using ${target.address} from BRANCH_FOLLOWER_TEMPORAL_ADDRESS`);
    } else if (await answers(target.address, target.namespace)) {
      log(`Temporal: a server already answers at ${target.address}; using it`);
    } else {
      const cli = await ensureTemporalCli(log);
      const [tHost, tPort] = splitHostPort(target.address);
      log(`Temporal: starting a dev server at ${target.address} with ${cli}`);
      const server: DevServer = await startDevServer({
        cli,
        host: tHost,
        port: tPort,
        uiPort: embedded.temporal.uiPort,
        dbFile: path.resolve(registry.dir, embedded.temporal.dbFile),
        namespace: target.namespace,
        startTimeoutMs: parseDuration(embedded.temporal.startTimeout),
        log,
      });
      stops.unshift(() => server.stop());
      uiUrl = server.uiUrl;
    }
  }

  // The SDK's warnings quote adapters' failures: through the worker's log, which escapes them.
  installRuntime(registry, process.env, {
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    logger: sdkLogger(workerLog(process.stderr)),
  });
  // Before the worker starts: its activities read the sinks' URLs from this environment.
  const events = embedded
    ? await serveDemoEvents(registry, process.env, (line) => console.log(`[events] ${visibleLine(line)}`))
    : undefined;
  if (events) stops.unshift(() => events.close());
  const nativeConnection = await NativeConnection.connect({ address: target.address });
  const worker = await createFollowerWorker({ registry, connection: nativeConnection, target });
  const connection = await Connection.connect({ address: target.address });
  const client = new Client({ connection, namespace: target.namespace });

  const running = worker.run();
  const webhooks = registry.controller.webhooks;
  const secrets = webhooks && embedded ? demoWebhookEnv(registry, process.env) : undefined;
  const receiver = webhooks
    ? await serveWebhooks({ registry, client, env: secrets?.env ?? process.env, log: (line) => log(line) })
    : undefined;
  if (webhooks) {
    const where = `http://${webhooksListen(registry, process.env)}/hooks/`;
    log(
      `webhooks: ${Object.keys(webhooks.sources)
        .map((s) => where + s)
        .join(', ')}${secrets ? ` (secrets unset in the environment are kept in ${secrets.file})` : ''}`,
    );
  }
  if (events)
    log(
      `notifications: CloudEvents for ${events.envs.join(', ')} received here at ${events.url} and printed as [events]`,
    );
  const metrics = metricsListen(registry, process.env);
  if (metrics) log(`metrics: http://${metrics}/metrics (docs/metrics.md)`);
  const started = await startEnabledFollowers(client, target.taskQueue, registry);
  log(`worker polling ${target.taskQueue}; followers: ${started.map((s) => s.id).join(', ')}`);
  if (uiUrl) log(`Temporal UI: ${uiUrl}/namespaces/${target.namespace}/workflows`);
  log(
    `state of one follower: temporal workflow query --address ${target.address} --workflow-id ${workflowIdFor(started[0]?.id ?? 'ID')} --name state`,
  );
  log(
    `push a demo commit: npm run demo:push -- hwlab   (then watch it trigger here)${webhooks ? '; with --webhook it also sends the push webhook' : ''}`,
  );
  log('Ctrl-C stops the worker; followers resume where they were on the next start');

  const watcher = watchPhases(
    client,
    started.map((s) => s.id),
  );
  try {
    await running;
  } finally {
    await watcher.stop();
    await receiver?.close();
    await connection.close();
    await nativeConnection.close();
    for (const stop of stops) await stop();
  }
}

/**
 * Prints a line whenever a follower's phase, code or message changes. `stop` cancels the query in
 * flight and waits for it: a query still retrying when the connection closes would throw from the
 * client's retry timer and fail the process.
 */
function watchPhases(client: Client, ids: string[]): { stop(): Promise<void> } {
  const last = new Map<string, string>();
  let stopped = false;
  // A signal per look: the client never removes the listener it adds to a signal.
  let abort = new AbortController();
  let tick: Promise<void> | undefined; // the look in progress; a slow one is not overlapped
  const timer = setInterval(() => {
    tick ??= look().finally(() => (tick = undefined));
  }, 1000);
  const look = async () => {
    abort = new AbortController();
    for (const id of ids) {
      if (stopped) return;
      try {
        const handle = client.workflow.getHandle(workflowIdFor(id));
        const v: FollowerView = await client.withAbortSignal(abort.signal, () => handle.query(stateQuery));
        // The message quotes what the adapter said: shown escaped, on this one line.
        const line = `${v.phase.padEnd(14)} ${shortSha(v.targetSha ?? v.observedSha).padEnd(12)} ${v.code}: ${visibleLine(v.message)}`;
        if (last.get(id) !== line) {
          last.set(id, line);
          console.log(`${new Date().toISOString().slice(11, 19)} ${id.padEnd(28)} ${line}`);
        }
      } catch {
        // not started yet, or the worker is shutting down
      }
    }
  };
  return {
    async stop() {
      clearInterval(timer);
      stopped = true;
      abort.abort();
      await tick;
    },
  };
}

main().catch((err) => {
  console.error(
    err instanceof ConfigError
      ? `invalid registry:\n${err.message}`
      : `[start] ${err instanceof Error ? err.message : err}`,
  );
  process.exit(1);
});
