import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { ConfigError, loadRegistry, parseRegistry, type ConfigIssue } from '../../config/registry.ts';
import { branchNameProblem } from '../../config/refname.ts';
import { parseDuration } from '../../config/duration.ts';
import { BASE_REGISTRY as BASE, KUBE_CONTROLLER as KUBERNETES } from '../support/registry-text.ts';
import { tempDir } from '../support/temp-dir.ts';

const SHIPPED = 'config/cicd-branch-followers.yaml';

/** Writes a registry (and its configRef, and any other files) into a temp dir; returns the registry path. */
function writeRegistry(text: string, files: Record<string, string> = {}): string {
  const dir = tempDir('bf-reg-');
  writeFileSync(path.join(dir, 'lanes.yaml'), 'lanes: {}\n');
  for (const [rel, body] of Object.entries(files)) writeFileSync(path.join(dir, rel), body);
  const file = path.join(dir, 'registry.yaml');
  writeFileSync(file, text);
  return file;
}

const lineOf = (text: string, needle: string): number => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

/** Applies `edit` to the parsed BASE document and returns the issues loading it reports. */
function issuesFor(edit: (doc: any) => void): ConfigIssue[] {
  const doc = YAML.parse(BASE);
  edit(doc);
  return issuesOfText(YAML.stringify(doc));
}

function issuesOfText(text: string, files: Record<string, string> = {}): ConfigIssue[] {
  const file = writeRegistry(text, files);
  try {
    loadRegistry(file);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected the registry to be rejected');
}

describe('registry: the shipped file', () => {
  it('loads the seed followers with values from defaults and their sources', () => {
    const reg = loadRegistry(SHIPPED);
    expect(reg.followers.map((f) => f.spec.id)).toEqual([
      'hwlab-jd01-v03',
      'agentrun-jd01-v02',
      'web-probe-sentinel-master',
    ]);
    const hw = reg.followers[0]!.spec;
    expect(hw.source).toEqual({ mirror: 'git://127.0.0.1:9418/pikasTech/HWLAB.git', branch: 'v0.3' });
    expect(hw.closeout.budgetMs).toBe(120_000);
    expect(hw.closeout.budgetSource).toMatchObject({ path: 'followers[0].closeout.budget', file: SHIPPED });
    expect(hw.pollIntervalMs).toBe(15_000);
    expect(hw.adapter.env).toEqual(['HWLAB_TOKEN']);
    expect(reg.followers[2]!.spec.adapter.timeoutMs).toBe(60_000);
  });
});

describe('registry: fallbacks come only from defaults', () => {
  it('takes omitted values from defaults and says so in the budget source', () => {
    const reg = loadRegistry(writeRegistry(BASE));
    const spec = reg.followers[0]!.spec;
    expect(spec.closeout.budgetMs).toBe(120_000);
    expect(spec.closeout.budgetSource.path).toBe('defaults.closeout.budget');
    expect(spec.closeout.budgetSource.line).toBe(lineOf(BASE, 'closeout: { budget'));
    expect(spec.retry).toEqual({ maxAttempts: 3, initialBackoffMs: 5000, backoffCoefficient: 2, maxBackoffMs: 60_000 });
  });

  it('a follower override wins over defaults, field by field', () => {
    const reg = loadRegistry(
      writeRegistry(
        BASE.replace(
          'closeout: { check: ready }',
          'closeout: { check: ready, budget: 30s }\n    retry: { maxAttempts: 5 }',
        ),
      ),
    );
    const spec = reg.followers[0]!.spec;
    expect(spec.closeout.budgetMs).toBe(30_000);
    expect(spec.closeout.budgetSource.path).toBe('followers[0].closeout.budget');
    expect(spec.retry.maxAttempts).toBe(5);
    expect(spec.retry.initialBackoffMs).toBe(5000);
  });

  it('a missing defaults key is an error, not a silent code default', () => {
    const text = BASE.replace('closeout: { budget: 120s, pollInterval: 2s }', 'closeout: { pollInterval: 2s }');
    const issues = issuesOfText(text);
    // Located at the map that lacks the key.
    expect(issues[0]).toMatchObject({
      path: 'defaults.closeout.budget',
      message: 'missing required key "budget"',
      line: lineOf(text, 'closeout: { pollInterval'),
    });
    expect(issues[0]!.hint).toContain('defaults');
  });
});

describe('registry: bad input is refused with file:line:column, YAML path and hint', () => {
  it('YAML syntax errors point at the line', () => {
    const issues = issuesOfText(BASE.replace('  pollInterval: 15s', '  pollInterval: [15s'));
    expect(issues[0]!.message).toMatch(/^YAML syntax/);
    expect(issues[0]!.line).toBeGreaterThanOrEqual(5);
  });

  it('unknown keys are located at the key itself', () => {
    const text = BASE.replace('    enabled: true', '    enabled: true\n    enabeld: false');
    const issues = issuesOfText(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      path: 'followers[0].enabeld',
      line: lineOf(text, 'enabeld'),
      column: 5,
      message: 'unknown key "enabeld"',
    });
    expect(issues[0]!.hint).toBe('keys allowed here: pollInterval, quietPeriod, retry, notify'); // the keys not already there
  });

  it('wrong types name the path', () => {
    const issues = issuesFor((d) => (d.followers[0].enabled = 'yes'));
    expect(issues[0]).toMatchObject({ path: 'followers[0].enabled' });
    expect(issues[0]!.message).toBe(
      'expected true or false, found the string "yes": write true or false (yes, no, on and off are plain strings in YAML 1.2)',
    );
  });

  it('missing fields name the path', () => {
    const issues = issuesFor((d) => delete d.followers[0].source.branch);
    expect(issues[0]!.path).toBe('followers[0].source.branch');
  });

  it('duplicate ids, unknown adapters and unknown checks are refused', () => {
    const issues = issuesFor((d) => {
      d.followers.push({ ...structuredClone(d.followers[0]), adapter: 'nope' });
      d.followers.push({ ...structuredClone(d.followers[0]), id: 'two', closeout: { check: 'missing' } });
    });
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['followers[1].id', 'followers[1].adapter', 'followers[2].closeout.check']),
    );
    expect(issues.find((i) => i.path === 'followers[1].id')!.message).toContain('duplicate follower id "one"');
    expect(issues.find((i) => i.path === 'followers[1].adapter')!.hint).toContain('declared adapters: lane');
    expect(issues.find((i) => i.path === 'followers[2].closeout.check')!.hint).toContain('its checks: ready');
  });

  it.each([
    ['v0..3', '".."'],
    ['-rf', 'option'],
    ['feat/x.lock', '.lock'],
    ['a b', 'space'],
    ['main;reboot', 'metacharacter ";"'],
    ['$(reboot)', 'metacharacter "$"'],
    ['a|b', 'metacharacter "|"'],
    ['line\nbreak', 'control'],
  ])('refuses branch %j', (branch, why) => {
    const issues = issuesFor((d) => (d.followers[0].source.branch = branch));
    expect(issues[0]!.path).toBe('followers[0].source.branch');
    expect(issues[0]!.message).toContain(why);
  });

  it.each([
    ['-uhttps://evil', 'not a URL'],
    ['ftp://host/repo.git', 'scheme'],
    ['https://user:secret@host/repo.git', 'password'],
    ['/srv/mirror/repo.git', 'not a URL'],
  ])('refuses mirror %j', (mirror, why) => {
    const issues = issuesFor((d) => (d.followers[0].source.mirror = mirror));
    expect(issues[0]!.path).toBe('followers[0].source.mirror');
    expect(issues[0]!.message).toContain(why);
  });

  it.each(['-x', 'a;b', '$(id)', 'a\nb', '`id`', 'a b'])('refuses a param value %j that could inject', (value) => {
    const issues = issuesFor((d) => (d.followers[0].target.params.lane = value));
    expect(issues[0]!.path).toBe('followers[0].target.params.lane');
  });

  it('refuses a placeholder the follower does not set, and a placeholder as the program', () => {
    const issues = issuesFor((d) => {
      d.adapters.lane.status.argv = ['{lane}', '--node', '{node}'];
    });
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['adapters.lane.status.argv[0]', 'followers[0].target.params']),
    );
    expect(issues.find((i) => i.path === 'followers[0].target.params')!.message).toContain('{node}');
  });

  it('refuses a configRef that escapes the registry directory or does not exist', () => {
    expect(issuesFor((d) => (d.followers[0].target.configRef = '../etc/passwd'))[0]!.message).toContain(
      'inside the registry',
    );
    expect(issuesFor((d) => (d.followers[0].target.configRef = 'missing.yaml'))[0]!.message).toContain(
      'does not exist',
    );
  });

  it('refuses malformed durations and env names', () => {
    expect(issuesFor((d) => (d.defaults.pollInterval = '15 seconds'))[0]).toMatchObject({
      path: 'defaults.pollInterval',
    });
    expect(issuesFor((d) => (d.adapters.lane.env = ['lower-case']))[0]).toMatchObject({ path: 'adapters.lane.env[0]' });
  });

  it('refuses an activity retry cap below the 1s Temporal waits before its first retry (the server would refuse every activity)', () => {
    const [issue] = issuesFor((d) => (d.defaults.activity.maxRetryInterval = '500ms'));
    expect(issue).toMatchObject({ path: 'defaults.activity.maxRetryInterval' });
    expect(issue!.message).toBe('500ms is out of range: write a duration between 1s and 1h');
  });

  it('formats every issue as file:line:col: path: message (hint: …)', () => {
    const text = BASE.replace('enabled: true', 'enabled: maybe');
    const file = writeRegistry(text);
    expect(() => loadRegistry(file)).toThrow(
      new RegExp(
        `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${lineOf(text, 'maybe')}:14: followers\\[0\\]\\.enabled: .*\\(hint: .*\\)$`,
      ),
    );
  });

  it('a registry with any problem yields nothing (no partial result)', () => {
    const text =
      BASE +
      `  - id: two\n    enabled: true\n    adapter: nope\n    source: { mirror: "git://h/r.git", branch: main }\n    target: { configRef: lanes.yaml, params: { lane: b } }\n    closeout: { check: ready }\n`;
    expect(() => parseRegistry(text, writeRegistry(text))).toThrow(ConfigError);
  });
});

const JOB =
  'apiVersion: batch/v1\nkind: Job\nspec:\n  template:\n    spec:\n      containers:\n        - name: deploy\n          args: ["{sha}", "{lane}"]\n';

/** BASE with a Kubernetes controller block and a kubernetes-job adapter used by a second follower. */
function withKube(edit: (doc: any) => void = () => undefined): any {
  const doc = YAML.parse(BASE);
  doc.controller.kubernetes = structuredClone(KUBERNETES);
  doc.adapters.job = {
    kind: 'kubernetes-job',
    namespace: 'lane-{lane}',
    template: 'job.yaml',
    checks: { done: { kind: 'kubernetes-job', retryable: false } },
  };
  doc.followers.push({ ...structuredClone(doc.followers[0]), id: 'two', adapter: 'job', closeout: { check: 'done' } });
  edit(doc);
  return doc;
}

describe('registry: Kubernetes controller, built-in adapters and checks', () => {
  it('resolves namespaces from params, embeds the template, and projects state into the controller namespace', () => {
    const reg = loadRegistry(writeRegistry(YAML.stringify(withKube()), { 'job.yaml': JOB }));
    const spec = reg.followers[1]!.spec;
    expect(spec.adapter).toMatchObject({
      kind: 'kubernetes-job',
      namespace: 'lane-a',
      templateFile: 'job.yaml',
      template: { apiVersion: 'batch/v1', kind: 'Job' },
    });
    expect(spec.closeout).toMatchObject({ check: 'done', kind: 'kubernetes-job', retryable: false });
    expect(spec.projection).toEqual({ namespace: 'branch-follower', configMap: 'bf-state' });
    expect(reg.files).toEqual(['lanes.yaml', 'job.yaml']);
  });

  it('points template problems at the template file and line', () => {
    const text = YAML.stringify(withKube());
    const bad =
      'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: fixed\nspec:\n  template:\n    spec:\n      containers:\n        - args: ["{sha}", "{nope}"]\n';
    const issues = issuesOfText(text, { 'job.yaml': bad });
    const name = issues.find((i) => i.path === 'metadata.name')!;
    expect(name).toMatchObject({ line: 4, message: 'metadata.name is set by the follower' });
    expect(name.file).toMatch(/job\.yaml$/);
    expect(name.hint).toContain('<follower>-<sha>-<run>');
    expect(issues.find((i) => i.path === 'spec.template.spec.containers[0].args[1]')).toMatchObject({
      line: 9,
      message: '{nope} is neither built in nor a param of two',
    });
    expect(issuesOfText(text, { 'job.yaml': 'apiVersion: tekton.dev/v1\nkind: PipelineRun\n' })[0]!.message).toBe(
      'expected apiVersion batch/v1 and kind Job, found tekton.dev/v1 PipelineRun',
    );
    expect(issuesOfText(text, { 'job.yaml': 'kind: [Job\n' })[0]!.message).toMatch(/^YAML syntax/);
    const missing = issuesOfText(text)[0]!;
    expect(missing.path).toBe('adapters.job.template');
    expect(missing.message).toMatch(/^template "job.yaml" does not exist/);
  });

  it('refuses a check that does not fit its adapter, a namespace that renders invalid, and an env name without a cluster source', () => {
    const text = YAML.stringify(
      withKube((d) => {
        d.adapters.lane.checks.done = { kind: 'kubernetes-job', retryable: false };
        d.adapters.job.checks.status = { kind: 'adapter-status' };
        d.followers[1].target.params.lane = 'Upper_Case';
        delete d.controller.kubernetes.env;
      }),
    );
    const issues = issuesOfText(text, { 'job.yaml': JOB });
    expect(issues.find((i) => i.path === 'adapters.lane.checks.done.kind')!.message).toBe(
      'a kubernetes-job check needs a kubernetes-job adapter; lane is command',
    );
    expect(issues.find((i) => i.path === 'adapters.job.checks.status.kind')!.message).toBe(
      'a adapter-status check needs a command adapter; job is kubernetes-job',
    );
    expect(issues.find((i) => i.path === 'adapters.lane.env[0]')).toMatchObject({
      message: 'LANE_TOKEN has no source in the cluster',
      hint: 'add controller.kubernetes.env.LANE_TOKEN: { secretKeyRef: { name: <secret>, key: <key> } }',
    });
    expect(issues.find((i) => i.path === 'followers[1].target.params')!.message).toBe(
      'adapters.job.namespace renders to "lane-Upper_Case" for this follower, which is not a DNS label (a-z, 0-9, "-")',
    );
  });

  it("asks for a check's params only from the followers that use that check", () => {
    const doc = withKube((d) => {
      d.adapters.lane.checks.web = {
        kind: 'deployment-rollout',
        namespace: 'lanes',
        name: '{app}',
        revision: { annotation: 'x/sha' },
        retryable: false,
      };
    });
    expect(() => loadRegistry(writeRegistry(YAML.stringify(doc), { 'job.yaml': JOB }))).not.toThrow();
    doc.followers[0].closeout.check = 'web';
    const issues = issuesOfText(YAML.stringify(doc), { 'job.yaml': JOB });
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'followers[0].target.params: adapter lane check web uses {app}, which this follower does not set',
    ]);
  });

  it('checks the kubernetes block like the rest: types, unknown keys, quantities, Secret references', () => {
    const issues = issuesFor((d) => {
      d.controller.kubernetes = structuredClone(KUBERNETES);
      d.controller.kubernetes.deployment.resources.requests.cpu = 'lots';
      d.controller.kubernetes.deployment.replica = 2;
      d.controller.kubernetes.env.LANE_TOKEN = { value: 'hunter2' };
    });
    expect(issues.map((i) => i.path)).toEqual(
      expect.arrayContaining([
        'controller.kubernetes.deployment.resources.requests.cpu',
        'controller.kubernetes.deployment.replica',
        'controller.kubernetes.env.LANE_TOKEN.value',
        'controller.kubernetes.env.LANE_TOKEN.secretKeyRef',
      ]),
    );
  });
});

describe('mirror credentials (source.auth)', () => {
  const withAuth = (mirror: string, auth: unknown) => (d: any) => {
    d.followers[0].source = { mirror, branch: 'main', auth };
  };

  it('takes variable names for an http(s) or ssh mirror into the spec, never values', () => {
    const file = writeRegistry(
      YAML.stringify(
        ((d) => (withAuth('https://git.example.com/org/app.git', { bearerTokenEnv: 'MIRROR_TOKEN' })(d), d))(
          YAML.parse(BASE),
        ),
      ),
    );
    expect(loadRegistry(file).followers[0]!.spec.source).toEqual({
      mirror: 'https://git.example.com/org/app.git',
      branch: 'main',
      auth: { bearerTokenEnv: 'MIRROR_TOKEN' },
    });
    const loads = (edit: (d: any) => void) => {
      const doc = YAML.parse(BASE);
      edit(doc);
      return loadRegistry(writeRegistry(YAML.stringify(doc))).followers[0]!.spec.source.auth;
    };
    expect(loads(withAuth('ssh://git@git.example.com/org/app.git', { sshKeyFileEnv: 'MIRROR_KEY' }))).toEqual({
      sshKeyFileEnv: 'MIRROR_KEY',
    });
    expect(
      loads(withAuth('https://git.example.com/org/app.git', { basicEnv: { username: 'U', password: 'P' } })),
    ).toEqual({ basicEnv: { username: 'U', password: 'P' } });
  });

  it('refuses credentials a mirror cannot take, a value where a name belongs, and two ways into one mirror', () => {
    expect(issuesFor(withAuth('git://git.example.com/org/app.git', { bearerTokenEnv: 'T' }))[0]).toMatchObject({
      path: 'followers[0].source.auth.bearerTokenEnv',
      message: 'bearerTokenEnv does not apply to a git:// mirror',
    });
    expect(issuesFor(withAuth('https://git.example.com/org/app.git', { sshKeyFileEnv: 'K' }))[0]).toMatchObject({
      message: 'sshKeyFileEnv does not apply to a https:// mirror',
    });
    const value = issuesFor(withAuth('https://git.example.com/org/app.git', { bearerTokenEnv: 'ghp_secretvalue' }))[0];
    expect(value, JSON.stringify(value)).toMatchObject({
      path: expect.stringMatching(/^followers\[0\]\.source\.auth/),
    });
    const two = issuesFor((d) => {
      withAuth('https://git.example.com/org/app.git', { bearerTokenEnv: 'A' })(d);
      d.followers.push({
        ...d.followers[0],
        id: 'two',
        source: { mirror: 'https://git.example.com/org/app.git', branch: 'dev', auth: { bearerTokenEnv: 'B' } },
      });
    });
    expect(two[0]).toMatchObject({
      path: 'followers[1].source.auth',
      message: 'followers[0] reads the same mirror with other credentials',
    });
  });
});

describe('notification sinks (notify:)', () => {
  const withSinks = (sinks: Record<string, unknown>, notify: string[]) => (doc: any) => {
    doc.notify = sinks;
    doc.followers[0].notify = notify;
  };

  it('resolves the sinks a follower names into its spec: variable names, never values; GitHub by default', () => {
    const doc = YAML.parse(BASE);
    withSinks(
      {
        bus: { kind: 'cloudevents', url: 'https://events.example/in', bearerTokenEnv: 'BUS_TOKEN' },
        team: { kind: 'chat', urlEnv: 'CHAT_URL' },
        commits: { kind: 'github-status', tokenEnv: 'GH_TOKEN' },
        gitea: {
          kind: 'gitea-status',
          apiUrl: 'https://gitea.example/api/v1/',
          tokenEnv: 'GITEA_TOKEN',
          repository: 'org/app',
        },
      },
      ['team', 'commits', 'gitea'],
    )(doc);
    doc.controller.temporal.uiUrl = 'https://temporal.example';
    const reg = loadRegistry(writeRegistry(YAML.stringify(doc)));
    expect(reg.sinks.map((s) => s.id)).toEqual(['bus', 'team', 'commits', 'gitea']);
    expect(reg.followers[0]!.spec.notify).toEqual({
      sinks: [
        { id: 'team', kind: 'chat', url: { env: 'CHAT_URL' } },
        { id: 'commits', kind: 'github-status', apiUrl: 'https://api.github.com', tokenEnv: 'GH_TOKEN' },
        {
          id: 'gitea',
          kind: 'gitea-status',
          apiUrl: 'https://gitea.example/api/v1',
          tokenEnv: 'GITEA_TOKEN',
          repository: 'org/app',
        },
      ],
      temporalUiUrl: 'https://temporal.example',
    });
    expect(reg.followers[1]?.spec.notify).toBeUndefined();
  });

  it('refuses a sink with both or neither of url and urlEnv, a chat URL written in the registry, a Gitea sink without its API, and an unknown sink', () => {
    const malformed = issuesFor(
      withSinks(
        {
          both: { kind: 'cloudevents', url: 'https://events.example/in', urlEnv: 'EVENTS_URL' },
          chat: { kind: 'chat', url: 'https://chat.example/hook/T0/secret' },
          neither: { kind: 'cloudevents' },
          gitea: { kind: 'gitea-status', tokenEnv: 'GITEA_TOKEN' },
        },
        ['both'],
      ),
    );
    expect(malformed.map((i) => [i.path, i.message])).toEqual([
      ['notify.both.url', 'write url: <https://…> or urlEnv: <VARIABLE> (one of them)'],
      ['notify.chat.urlEnv', 'missing required key "urlEnv"'],
      ['notify.chat.url', 'unknown key "url"'],
      ['notify.neither.url', 'write url: <https://…> or urlEnv: <VARIABLE> (one of them)'],
      ['notify.gitea.apiUrl', 'missing required key "apiUrl"'],
    ]);
    const unknown = issuesFor(withSinks({ team: { kind: 'chat', urlEnv: 'CHAT_URL' } }, ['team', 'missing', 'team']));
    expect(unknown.map((i) => [i.path, i.message, i.hint])).toEqual([
      ['followers[0].notify[1]', 'unknown notification sink "missing"', 'declared sinks: team'],
      ['followers[0].notify[2]', 'sink "team" named twice', 'name each sink once'],
    ]);
  });
});

describe('durations and ref names', () => {
  it('parses Go-style durations from milliseconds up, compound and fractional, and refuses anything else', () => {
    expect(['500ms', '15s', '2m', '1h', '1m30s', '1h2m3s4ms', '1.5s', '0.5h', '0s'].map(parseDuration)).toEqual([
      500, 15_000, 120_000, 3_600_000, 90_000, 3_723_004, 1500, 1_800_000, 0,
    ]);
    for (const bad of ['', '15', '1d', '-1s', '1 s', 's', '1s ', '+1s', '1.s'])
      expect(() => parseDuration(bad), bad).toThrow(/is not a duration: write a number and a unit/);
    expect(() => parseDuration('10us')).toThrow(/the smallest unit here is ms/);
    expect(() => parseDuration('1.5ms')).toThrow(/finer than a millisecond/);
  });

  it('accepts ordinary branch names', () => {
    for (const ok of ['main', 'v0.3', 'release/2026-11', 'feature/a_b-c', 'x@y'])
      expect(branchNameProblem(ok)).toBeUndefined();
    for (const bad of [
      '',
      '@',
      'a/',
      '/a',
      'a//b',
      'a.',
      '.a',
      'a/.b',
      'a@{1}',
      'a~1',
      'a^',
      'a:b',
      'a?',
      'a*',
      'a[b',
      'a\\b',
      'a\x7fb',
    ]) {
      expect(branchNameProblem(bad), bad).toBeDefined();
    }
  });
});
