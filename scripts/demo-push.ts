// `npm run demo:push -- <hwlab|agentrun|unidesk> [--webhook] [message]`: pushes one commit to a demo
// repo on the embedded mirror, the way a developer's push would reach the real mirror; with
// --webhook it then sends the push webhook a git host would (signed as GitHub signs it) to the
// receiver `npm start` serves, so the follower reads the mirror at once.
import path from 'node:path';
import YAML from 'yaml';
import { readFileSync } from 'node:fs';
import { DEFAULT_REGISTRY, loadRegistry } from '../config/registry.ts';
import { shortSha } from '../contract/format.ts';
import { sendDemoPush } from './demo-webhooks.ts';
import { pushCommit, type SeedRepo } from './git-mirror.ts';

const registry = loadRegistry(process.env.BRANCH_FOLLOWER_REGISTRY ?? DEFAULT_REGISTRY);
const embedded = registry.controller.embedded;
if (!embedded) {
  console.error('demo:push works on the embedded default only (controller.embedded is not set)');
  process.exit(2);
}
const seed = YAML.parse(readFileSync(path.resolve(registry.dir, embedded.mirror.seed), 'utf8')) as SeedRepo[];
const args = process.argv.slice(2);
const webhook = args.includes('--webhook');
const [which, ...words] = args.filter((a) => a !== '--webhook');
const repo = seed.find((r) => r.repo.toLowerCase().endsWith(`/${(which ?? '').toLowerCase()}`));
if (!repo) {
  console.error(
    `usage: npm run demo:push -- <${seed.map((r) => r.repo.split('/')[1]!.toLowerCase()).join('|')}> [--webhook] [message]`,
  );
  process.exit(2);
}
const follower = registry.followers.find((f) => f.spec.source.mirror.endsWith(`/${repo.repo}.git`));
const branch = follower?.spec.source.branch ?? repo.branches[0]!.name;
const sha = pushCommit(
  path.resolve(registry.dir, embedded.mirror.root),
  repo.repo,
  branch,
  words.join(' ') || `demo change at ${new Date().toISOString()}`,
);
if (!webhook) {
  console.log(
    `pushed ${shortSha(sha)} to ${repo.repo}@${branch}${follower ? `; ${follower.spec.id} picks it up within ${follower.spec.pollIntervalMs / 1000}s` : ''}`,
  );
} else {
  const sent = await sendDemoPush(registry, process.env, { repository: repo.repo, branch, sha });
  console.log(
    `pushed ${shortSha(sha)} to ${repo.repo}@${branch}; webhook to ${sent.url}: ${sent.status} ${sent.body} (${sent.ms} ms)`,
  );
  if (sent.status !== 202) process.exitCode = 1;
}
