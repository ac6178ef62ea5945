// Push webhooks on the embedded default: `npm start` serves the registry's receiver, with each
// source's secret from the environment or, when unset, one it makes up and keeps beside the demo
// data (mode 600), where `npm run demo:push -- <repo> --webhook` finds it to sign as GitHub does.
import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Registry } from '../config/registry.ts';
import { webhooksListen } from '../worker/receiver.ts';

/** Beside the embedded dev server's database: the demo's data directory. */
const secretsFile = (registry: Registry): string =>
  path.join(
    path.dirname(path.resolve(registry.dir, registry.controller.embedded!.temporal.dbFile)),
    'webhook-secrets.json',
  );

/** The environment the receiver reads its secrets from: the process's, plus made-up ones for the sources it lacks. */
export function demoWebhookEnv(registry: Registry, env: NodeJS.ProcessEnv): { env: NodeJS.ProcessEnv; file: string } {
  const file = secretsFile(registry);
  const kept = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>) : {};
  for (const source of Object.values(registry.controller.webhooks?.sources ?? {})) {
    if (!env[source.secretEnv] && !kept[source.secretEnv]) kept[source.secretEnv] = randomBytes(24).toString('hex');
  }
  writeFileSync(file, `${JSON.stringify(kept, null, 2)}\n`, { mode: 0o600 });
  return { env: { ...kept, ...env }, file };
}

/** Sends the push as a GitHub webhook to the first github source; what the receiver answered. */
export async function sendDemoPush(
  registry: Registry,
  env: NodeJS.ProcessEnv,
  push: { repository: string; branch: string; sha: string },
): Promise<{ url: string; status: number; body: string; ms: number }> {
  const sources = Object.entries(registry.controller.webhooks?.sources ?? {});
  const [id, source] = sources.find(([, s]) => s.kind === 'github') ?? [];
  if (!id || !source) throw new Error('the registry declares no controller.webhooks source of kind github');
  const secret = env[source.secretEnv] ?? demoWebhookEnv(registry, env).env[source.secretEnv]!;
  const body = JSON.stringify({
    ref: `refs/heads/${push.branch}`,
    after: push.sha,
    repository: { full_name: push.repository },
  });
  const url = `http://${webhooksListen(registry, {})}/hooks/${id}`;
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomBytes(8).toString('hex'),
      'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    },
  });
  return { url, status: res.status, body: (await res.text()).trim(), ms: Math.round(performance.now() - started) };
}
