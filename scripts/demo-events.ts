// Notifications on the embedded default: `npm start` receives the registry's CloudEvents sinks
// whose URL variable is unset itself, and prints each event it is sent — parsed and validated by
// the `cloudevents` SDK, as a real receiver would. In a cluster that variable comes from a Secret.
import http from 'node:http';
import { HTTP, type CloudEvent } from 'cloudevents';
import type { Registry } from '../config/registry.ts';
import { shortSha } from '../contract/format.ts';
import type { Notice } from '../contract/notify.ts';

export interface DemoEvents {
  /** The variables now pointing at the local receiver. */
  envs: string[];
  url: string;
  close(): Promise<void>;
}

/** Serves the CloudEvents sinks named by an unset `urlEnv` and points those variables at it; undefined when there are none. */
export async function serveDemoEvents(
  registry: Registry,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<DemoEvents | undefined> {
  const envs = registry.sinks.flatMap((s) =>
    s.kind === 'cloudevents' && 'env' in s.url && !env[s.url.env] ? [s.url.env] : [],
  );
  if (!envs.length) return undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const event = HTTP.toEvent({
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        }) as CloudEvent<Notice>;
        event.validate();
        const n = event.data!;
        log(`${n.follower} ${n.type}${n.sha ? ` ${shortSha(n.sha)}` : ''} (${n.code}) ← ${event.type}`);
        res.writeHead(202).end();
      } catch (err) {
        log(`not a CloudEvent: ${(err as Error).message}`);
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  for (const name of envs) env[name] = url;
  return {
    envs,
    url,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
