// Fault suite: the hostile corpus (test/support/hostile-corpus.ts) through `apply --confirm`, the
// way an attacker's registry would arrive, while a follower runs. Each is refused with exit 2 and
// one file:line:col issue at its YAML path; nothing runs, nothing is applied, the running
// follower's spec and history do not change.
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { Exit } from '../../client/output.ts';
import { specQuery } from '../../contract/messages.ts';
import { HOSTILE_CASES, hostileText } from '../support/hostile-corpus.ts';
import { Harness } from '../support/harness.ts';
import { report } from '../support/reliability.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe('hostile registries, round 2', () => {
  it(`${HOSTILE_CASES.length} cases across ${new Set(HOSTILE_CASES.map((k) => k.cls)).size} classes: exit 2, file:line:col and path, nothing run or applied, the running follower untouched`, async () => {
    h = await Harness.create({
      lanes: { a: { deployMs: 0 } },
      followers: [{ name: 'app', lane: 'a' }],
      defaults: { pollInterval: '10m' },
    });
    const sha = h.push('main', 'x');
    await h.startWorker();
    await h.startFollowers();
    await h.waitFor('app', 'deployed', (v) => v.phase === 'Succeeded' && v.lastSucceededSha === sha);
    const spec = await h.handle('app').query(specQuery);
    const historyBefore = (await h.handle('app').describe()).historyLength;
    const good = YAML.stringify(YAML.parse(h.registry.text), { lineWidth: 0 });
    const mark = path.join(h.dir, 'PWNED');

    for (const [i, k] of HOSTILE_CASES.entries()) {
      // Each case in a copy of the registry's directory, beside a directory it must not reach.
      const root = path.join(h.dir, `case-${i}`);
      const dir = path.join(root, 'config');
      const outside = path.join(root, 'outside');
      cpSync(path.dirname(h.registryFile), dir, { recursive: true });
      mkdirSync(outside);
      writeFileSync(path.join(outside, 'secret.txt'), 'the host file nobody may ship\n');
      const file = path.join(dir, 'registry.yaml');
      writeFileSync(file, hostileText(k, good, { dir, outside, mark }));
      const res = await h.cliWith(file, 'apply', '--confirm');
      const lines = res.err.split('\n').filter((l) => l.startsWith(file));
      expect(res.code, `${k.name}: ${res.err}`).toBe(Exit.Usage);
      expect(lines, `${k.name}: ${res.err}`).toHaveLength(1);
      const [, where, yamlPath, message] = /^.*?registry\.yaml:(\d+:\d+): (\S*): (.*)$/.exec(lines[0]!) ?? [];
      expect(where, k.name).toMatch(/^[1-9]\d*:[1-9]\d*$/);
      expect(yamlPath === '(document)' ? '' : yamlPath, k.name).toMatch(k.path);
      expect(message, k.name).toMatch(k.message);
      expect(res.err, k.name).toMatch(/hint: |nothing was applied/);
    }

    expect(existsSync(mark)).toBe(false);
    expect(await h.handle('app').query(specQuery)).toEqual(spec);
    expect((await h.handle('app').describe()).historyLength).toBe(historyBefore);
    expect(h.triggers()).toHaveLength(1);
    const classes = [...new Set(HOSTILE_CASES.map((k) => k.cls))];
    report({
      fault: 'hostile registries, round 2',
      injected: `${HOSTILE_CASES.length} registries in ${classes.length} classes: ${classes.map((cl) => `${cl} (${HOSTILE_CASES.filter((k) => k.cls === cl).length})`).join(', ')}`,
      duplicates: 0,
      lost: 0,
      recovery:
        'each refused by apply (exit 2) with one file:line:col issue at its YAML path, saying what to write; nothing run, no history event, spec unchanged',
      reproduce: 'npx vitest run test/faults/hostile-registry.test.ts',
    });
  });
});
