// Every case of the hostile corpus, against the loader alone: one issue, at the YAML path and
// file:line:col it names, saying what to write — and nothing else. test/faults/hostile-registry
// runs the same corpus through `apply` against a running follower.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError, loadRegistry, type ConfigIssue } from '../../config/registry.ts';
import { HOSTILE_CASES, hostileText } from '../support/hostile-corpus.ts';
import { BASE_REGISTRY as GOOD } from '../support/registry-text.ts';

const made: string[] = [];
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

function world() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'bf-hostile-'));
  made.push(root);
  const dir = path.join(root, 'config');
  const outside = path.join(root, 'outside');
  mkdirSync(dir);
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'secret.txt'), 'the host file nobody may ship\n');
  writeFileSync(path.join(dir, 'lanes.yaml'), 'lanes: {}\n');
  return { dir, outside, mark: path.join(root, 'PWNED') };
}

function issuesOf(text: string, file: string): ConfigIssue[] {
  writeFileSync(file, text);
  try {
    loadRegistry(file);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe('the hostile corpus, against the loader', () => {
  it('starts from a registry the loader accepts', () => {
    const c = world();
    expect(issuesOf(GOOD, path.join(c.dir, 'registry.yaml'))).toEqual([]);
  });

  it.each(HOSTILE_CASES.map((k) => [`${k.cls}: ${k.name}`, k] as const))('%s', (_name, k) => {
    const c = world();
    const issues = issuesOf(hostileText(k, GOOD, c), path.join(c.dir, 'registry.yaml'));
    expect(issues, JSON.stringify(issues, null, 1)).toHaveLength(1);
    const [issue] = issues;
    expect(issue!.path).toMatch(k.path);
    expect(issue!.message).toMatch(k.message);
    expect(issue!.line).toBeGreaterThan(0);
    expect(issue!.column).toBeGreaterThan(0);
    expect(issue!.hint.length).toBeGreaterThan(0);
  });

  it('reports several problems one each, in the order they appear in the file', () => {
    const c = world();
    const doc = YAML.parse(GOOD);
    doc.followers[0].enabled = 'yes';
    doc.defaults.pollInterval = '0s';
    doc.controller.temporal.taskQueue = "q'";
    const issues = issuesOf(YAML.stringify(doc), path.join(c.dir, 'registry.yaml'));
    expect(issues.map((i) => i.path)).toEqual([
      'controller.temporal.taskQueue',
      'defaults.pollInterval',
      'followers[0].enabled',
    ]);
    expect(issues.map((i) => i.line)).toEqual([...issues.map((i) => i.line)].sort((a, b) => a - b));
  });
});
