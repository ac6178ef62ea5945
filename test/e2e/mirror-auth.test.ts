// An authenticated HTTP mirror (git's own http-backend behind a bearer-token check): the follower
// and its mirror watcher read it with the token the worker's environment holds, under the name the
// registry gives (source.auth), and the value reaches no history, state, event or CLI output.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { refreshSignal } from '../../contract/messages.ts';
import { Harness, REPO } from '../support/harness.ts';
import { startHttpGit, type HttpGit } from '../support/http-git.ts';

let h: Harness | undefined;
let server: HttpGit | undefined;
afterEach(async () => {
  delete process.env.MIRROR_TOKEN;
  await h?.close();
  await server?.stop();
  h = undefined;
  server = undefined;
});

describe('mirror credentials', () => {
  it('reads an authenticated mirror with the token from the worker environment; the value is nowhere in history, state or output', async () => {
    const token = `mirror-${randomBytes(12).toString('hex')}`;
    h = await Harness.create({
      lanes: { a: { deployMs: 100 } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: { pollInterval: '300ms', observe: { mode: 'watch', fallbackInterval: '1m' } },
    });
    server = await startHttpGit(h.mirrorRoot, token);
    h.writeConfig({
      followers: [
        {
          name: 'app',
          lane: 'a',
          yaml: { source: { mirror: server.url(REPO), branch: 'main', auth: { bearerTokenEnv: 'MIRROR_TOKEN' } } },
        },
      ],
    });
    h.registry = (await import('../../config/registry.ts')).loadRegistry(h.registryFile);
    const first = h.push('main', 'first');
    await h.startWorker();
    await h.startFollowers();

    // Without the variable: Blocked, saying which variable the worker lacks; nothing fired.
    const blocked = await h.waitFor('app', 'blocked without credentials', (v) => v.phase === 'Blocked');
    expect(blocked.code).toBe('MirrorUnreachable');
    expect(blocked.message).toBe(
      "the mirror's credentials are in MIRROR_TOKEN, which is not set in the worker's environment",
    );
    // A wrong token: the server refuses it, and the follower says so without echoing it.
    process.env.MIRROR_TOKEN = 'not-the-token';
    await h.handle('app').signal(refreshSignal);
    await h.waitFor(
      'app',
      'refused by the mirror',
      (v) => v.phase === 'Blocked' && !v.message.includes('MIRROR_TOKEN'),
    );
    expect(server.refused).toBeGreaterThan(0);
    expect(h.triggers()).toHaveLength(0);

    process.env.MIRROR_TOKEN = token;
    await h.handle('app').signal(refreshSignal);
    await h.waitFor('app', 'first deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === first);
    const second = h.push('main', 'second'); // found by the mirror watcher, reading with the token
    await h.waitFor('app', 'second deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === second);
    expect(h.triggers().map((t) => t.sha)).toEqual([first, second]);

    const everything = [
      h.historyJson('app'),
      h.workflowHistoryJson(h.watcherId(server.url(REPO))),
      JSON.stringify(await h.state('app')),
      JSON.stringify(await h.events('app')),
      (await h.cli('status', '-o', 'json')).out,
      (await h.cli('events', '--follower', h.id('app'))).out,
      h.registry.text,
    ].join('\n');
    expect(everything).toContain('MIRROR_TOKEN'); // the name, as it should be
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(Buffer.from(token).toString('base64'));
  });
});
