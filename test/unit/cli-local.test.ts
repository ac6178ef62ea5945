// The CLI fails fast and clearly: what it can check locally it checks before any connection, an
// unreachable server is reported with its cause and where the address came from, and a bad
// option value is a usage error (exit 2) that says what to write. Nothing listens on the port
// these tests point at: a real refused connection, not a stub.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { seedMirror } from '../../scripts/git-mirror.ts';
import { Exit } from '../../client/output.ts';
import { cliTarget } from '../../client/temporal-profile.ts';
import { loadRegistry } from '../../config/registry.ts';
import { runCli } from '../support/cli.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const REGISTRY = path.join(ROOT, 'config/cicd-branch-followers.yaml');

/** A port that was just free: bound, then released, so a connection to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

async function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; out: string; err: string }> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env))
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  try {
    return await runCli(args);
  } finally {
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  }
}

let port: number;
let dir: string;
beforeAll(async () => {
  port = await closedPort();
  dir = mkdtempSync(path.join(os.tmpdir(), 'bf-cli-local-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the CLI fails fast and clearly', () => {
  it('an unreachable server: the cause, and that the address came from the environment', async () => {
    const res = await cli(['--registry', REGISTRY, 'status'], {
      BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    expect(res.code).toBe(Exit.Unreachable);
    expect(res.err).toContain(
      `cannot reach Temporal at 127.0.0.1:${port} (from BRANCH_FOLLOWER_TEMPORAL_ADDRESS): connection refused`,
    );
    expect(res.err).toMatch(/hint: .*unset BRANCH_FOLLOWER_TEMPORAL_ADDRESS/);
  });

  it('a port that accepts connections but is no Temporal server: said so, not mistaken for a refusal', async () => {
    const held: Socket[] = [];
    const silent = createServer((socket) => held.push(socket)); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const { port: silentPort } = silent.address() as { port: number };
    try {
      const res = await cli(['--registry', REGISTRY, 'status'], {
        BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${silentPort}`,
      });
      expect(res.code).toBe(Exit.Unreachable);
      expect(res.err).toContain(
        `cannot reach Temporal at 127.0.0.1:${silentPort} (from BRANCH_FOLLOWER_TEMPORAL_ADDRESS): the port accepts connections, but Temporal did not answer: `,
      );
    } finally {
      for (const socket of held) socket.destroy();
      silent.close();
    }
  });

  it('… or from the registry, and then the hint says how to point elsewhere', async () => {
    cpSync(path.join(ROOT, 'config'), path.join(dir, 'config'), { recursive: true });
    const file = path.join(dir, 'config', 'cicd-branch-followers.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('address: 127.0.0.1:7233', `address: 127.0.0.1:${port}`));
    const res = await cli(['--registry', file, 'status'], {
      BRANCH_FOLLOWER_TEMPORAL_ADDRESS: undefined,
      TEMPORAL_ADDRESS: undefined,
      TEMPORAL_PROFILE: undefined,
    });
    expect(res.code).toBe(Exit.Unreachable);
    expect(res.err).toContain(`(from controller.temporal.address in ${file}): connection refused`);
    expect(res.err).toMatch(/hint: .*BRANCH_FOLLOWER_TEMPORAL_ADDRESS/);
  });

  it('no registry where it was looked for: one line that says where, who named it, and the three ways to name one', async () => {
    const hint =
      'hint: name one with --registry FILE or BRANCH_FOLLOWER_REGISTRY=FILE, or run from the directory that holds config/cicd-branch-followers.yaml';
    const named = await cli(['--registry', '/nonexistent/registry.yaml', 'status']);
    expect(named.code).toBe(Exit.Usage);
    expect(named.err).toBe(`error: no registry at /nonexistent/registry.yaml (from --registry)\n${hint}`);
    const fromEnv = await cli(['status'], { BRANCH_FOLLOWER_REGISTRY: '/nonexistent/registry.yaml' });
    expect(fromEnv.err).toContain('error: no registry at /nonexistent/registry.yaml (from BRANCH_FOLLOWER_REGISTRY)');
    // Run from another directory (as after `npm link`): the default is not there, and it says so.
    const elsewhere = mkdtempSync(path.join(os.tmpdir(), 'bf-elsewhere-'));
    const cwd = process.cwd();
    process.chdir(elsewhere);
    try {
      const byDefault = await cli(['status'], { BRANCH_FOLLOWER_REGISTRY: undefined });
      expect(byDefault.code).toBe(Exit.Usage);
      expect(byDefault.err).toBe(
        `error: no registry at config/cicd-branch-followers.yaml (from the default, config/cicd-branch-followers.yaml in the current directory)\n${hint}`,
      );
      // Named by the variable, the registry is found from anywhere (render needs no server).
      expect((await cli(['render'], { BRANCH_FOLLOWER_REGISTRY: REGISTRY })).code).toBe(Exit.Ok);
    } finally {
      process.chdir(cwd);
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('a follower the registry does not have is reported before any connection is tried', async () => {
    for (const args of [
      ['status', '--follower', 'nope'],
      ['events', '--follower', 'nope'],
      ['wait', '--follower', 'nope', '--sha', 'abc1'],
    ]) {
      const res = await cli(['--registry', REGISTRY, ...args], {
        BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      });
      expect(res.code, args.join(' ')).toBe(Exit.NotFound);
      expect(res.err, args.join(' ')).toContain('no follower "nope"');
      expect(res.err, args.join(' ')).not.toContain('cannot reach');
    }
  });

  it('a bad duration is a usage error that says what to write, before any connection', async () => {
    const res = await cli(
      ['--registry', REGISTRY, 'wait', '--follower', 'hwlab-jd01-v03', '--sha', 'abc1', '--timeout', '5min'],
      { BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}` },
    );
    expect(res.code).toBe(Exit.Usage);
    expect(res.err).toContain(`option '--timeout <duration>' argument '5min' is invalid`);
    expect(res.err).toMatch(/write a number and a unit .* such as 500ms, 15s, 2m or 1m30s/);
    expect(res.err).not.toContain('cannot reach');
  });

  it('finds the lazily loaded CommonJS clients under tsx, which the scripts run on', () => {
    const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
    const out = execFileSync(tsx, [path.join(ROOT, 'test/support/common-js-probe.ts')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('function function object');
  });

  it('a count that is not a positive whole number is a usage error too', async () => {
    for (const args of [
      ['events', '--limit', 'ten'],
      ['logs', '--tail', '0'],
    ]) {
      const res = await cli(['--registry', REGISTRY, args[0]!, '--follower', 'hwlab-jd01-v03', ...args.slice(1)], {
        BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      });
      expect(res.code).toBe(Exit.Usage);
      expect(res.err).toContain(`argument '${args[2]}' is invalid. expected a positive whole number such as 20`);
      expect(res.err).not.toContain('cannot reach');
    }
  });

  it('run-once --dry-run decides from the mirror alone when Temporal does not answer, and says so', async () => {
    // The shipped registry with its mirrors served from a local directory (file://), a real git repository each.
    const root = path.join(dir, 'dry');
    cpSync(path.join(ROOT, 'config'), path.join(root, 'config'), { recursive: true });
    const file = path.join(root, 'config', 'cicd-branch-followers.yaml');
    const text = readFileSync(file, 'utf8');
    const mirrors = [
      ...text.matchAll(/mirror: git:\/\/127\.0\.0\.1:9418\/([\w./-]+?)\.git, branch: ([\w./-]+) \}/g),
    ].map((m) => ({ repo: m[1]!, branch: m[2]! }));
    expect(mirrors.length).toBeGreaterThan(0);
    seedMirror(
      path.join(root, 'mirror'),
      mirrors.map((m) => ({ repo: m.repo, branches: [{ name: m.branch, commits: 1 }] })),
    );
    writeFileSync(file, text.replaceAll('git://127.0.0.1:9418/', `file://${path.join(root, 'mirror')}/`));
    const res = await cli(['--registry', file, 'run-once', '--all', '--dry-run', '-o', 'json'], {
      BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    expect(res.code, res.err).toBe(Exit.Ok);
    const json = JSON.parse(res.out) as {
      dryRun: boolean;
      offline?: string;
      decisions: { decision: string; message: string }[];
    };
    expect(json.offline).toContain('connection refused');
    expect(json.decisions.length).toBe(mirrors.length);
    for (const d of json.decisions) {
      expect(d.decision).toBe('PendingTrigger');
      expect(d.message).toContain('Temporal not reached: decided as a fresh start');
    }
  });

  it('plan without Temporal still shows its cluster half, and says why the followers are missing', async () => {
    // No kubeconfig anywhere (a HOME without ~/.kube): the cluster half is skipped, with the reason.
    const res = await cli(['--registry', REGISTRY, 'plan'], {
      BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      KUBECONFIG: undefined,
      HOME: dir,
    });
    expect(res.code).toBe(Exit.Unreachable);
    expect(res.out).toMatch(/^cluster: skipped — no Kubernetes configuration/);
    expect(res.out).toContain(
      `followers: not planned — cannot reach Temporal at 127.0.0.1:${port} (from BRANCH_FOLLOWER_TEMPORAL_ADDRESS): connection refused`,
    );
    expect(res.err).toMatch(/^hint: /);
  });

  it("the Temporal CLI's settings are honoured, ours first: TEMPORAL_ADDRESS, then a selected profile, then the registry", async () => {
    const none = {
      BRANCH_FOLLOWER_TEMPORAL_ADDRESS: undefined,
      TEMPORAL_ADDRESS: undefined,
      TEMPORAL_PROFILE: undefined,
      TEMPORAL_CONFIG_FILE: undefined,
    };
    const fromTheirEnv = await cli(['--registry', REGISTRY, 'status'], {
      ...none,
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    expect(fromTheirEnv.code).toBe(Exit.Unreachable);
    expect(fromTheirEnv.err).toContain(
      `cannot reach Temporal at 127.0.0.1:${port} (from TEMPORAL_ADDRESS): connection refused`,
    );
    expect(fromTheirEnv.err).toContain('BRANCH_FOLLOWER_TEMPORAL_ADDRESS overrides TEMPORAL_ADDRESS');

    // A profile of the Temporal CLI's file, selected by name, read by Temporal's own loader.
    const toml = path.join(dir, 'temporal.toml');
    writeFileSync(toml, `[profile.staging]\naddress = "127.0.0.2:${port}"\nnamespace = "staging"\n`);
    const fromProfile = await cli(['--registry', REGISTRY, 'status'], {
      ...none,
      TEMPORAL_PROFILE: 'staging',
      TEMPORAL_CONFIG_FILE: toml,
    });
    expect(fromProfile.err).toContain(`cannot reach Temporal at 127.0.0.2:${port} (from profile staging in ${toml})`);
    // Their variable beats their file; ours beats both.
    const envOverFile = await cli(['--registry', REGISTRY, 'status'], {
      ...none,
      TEMPORAL_PROFILE: 'staging',
      TEMPORAL_CONFIG_FILE: toml,
      TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    expect(envOverFile.err).toContain('(from TEMPORAL_ADDRESS)');
    const oursFirst = await cli(['--registry', REGISTRY, 'status'], {
      ...none,
      TEMPORAL_ADDRESS: '127.0.0.2:1',
      BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    expect(oursFirst.err).toContain(`at 127.0.0.1:${port} (from BRANCH_FOLLOWER_TEMPORAL_ADDRESS)`);

    const missing = await cli(['--registry', REGISTRY, 'status'], {
      ...none,
      TEMPORAL_PROFILE: 'nope',
      TEMPORAL_CONFIG_FILE: toml,
    });
    expect(missing.code).toBe(Exit.Usage);
    expect(missing.err).toMatch(/the Temporal CLI's configuration: .*nope/);
  });

  it('the namespace follows the same order as the address, and each says where it came from', async () => {
    const registry = loadRegistry(REGISTRY);
    const toml = path.join(dir, 'namespaces.toml');
    writeFileSync(toml, '[profile.staging]\nnamespace = "staging"\n');
    const profile = { TEMPORAL_PROFILE: 'staging', TEMPORAL_CONFIG_FILE: toml };
    const namespaceOf = async (env: NodeJS.ProcessEnv) => {
      const { target } = await cliTarget(registry, env);
      return `${target.namespace} (from ${target.namespaceFrom})`;
    };
    expect(await namespaceOf({})).toBe(
      `${registry.controller.temporal.namespace} (from controller.temporal.namespace in ${registry.file})`,
    );
    expect(await namespaceOf(profile)).toBe(`staging (from profile staging in ${toml})`);
    expect(await namespaceOf({ ...profile, TEMPORAL_NAMESPACE: 'theirs' })).toBe('theirs (from TEMPORAL_NAMESPACE)');
    expect(
      await namespaceOf({ ...profile, TEMPORAL_NAMESPACE: 'theirs', BRANCH_FOLLOWER_TEMPORAL_NAMESPACE: 'ours' }),
    ).toBe('ours (from BRANCH_FOLLOWER_TEMPORAL_NAMESPACE)');
    // The default profile applies only when selected: the registry names its own server.
    writeFileSync(path.join(dir, 'default.toml'), '[profile.default]\nnamespace = "from-default"\n');
    expect(await namespaceOf({ TEMPORAL_CONFIG_FILE: path.join(dir, 'default.toml') })).toBe(
      `${registry.controller.temporal.namespace} (from controller.temporal.namespace in ${registry.file})`,
    );
  });

  it("the Temporal CLI's credentials are used when the registry declares none; when it declares them, ours are", async () => {
    const registry = loadRegistry(REGISTRY);
    expect(registry.controller.temporal.apiKey).toBeUndefined();
    const security = async (reg: typeof registry, env: NodeJS.ProcessEnv) => (await cliTarget(reg, env)).security;
    expect(await security(registry, {})).toEqual({});
    // An API key turns TLS on unless told otherwise, as the Temporal CLI does.
    expect(await security(registry, { TEMPORAL_API_KEY: 'their-key' })).toMatchObject({
      apiKey: 'their-key',
      tls: true,
    });
    expect(await security(registry, { TEMPORAL_API_KEY: 'their-key', TEMPORAL_TLS: 'false' })).toEqual({
      apiKey: 'their-key',
      tls: false,
    });
    const toml = path.join(dir, 'keyed.toml');
    writeFileSync(toml, '[profile.cloud]\napi_key = "profile-key"\n');
    expect(await security(registry, { TEMPORAL_PROFILE: 'cloud', TEMPORAL_CONFIG_FILE: toml })).toMatchObject({
      apiKey: 'profile-key',
    });

    // The registry declares an API key (a Secret in the cluster): only BRANCH_FOLLOWER_TEMPORAL_API_KEY counts.
    const root = path.join(dir, 'keyed');
    cpSync(path.join(ROOT, 'config'), path.join(root, 'config'), { recursive: true });
    const file = path.join(root, 'config', 'cicd-branch-followers.yaml');
    const doc = YAML.parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['controller', 'temporal', 'apiKey'], { secretRef: { name: 'temporal', key: 'api-key' } });
    writeFileSync(file, doc.toString());
    const keyed = loadRegistry(file);
    expect(
      await security(keyed, { TEMPORAL_API_KEY: 'their-key', BRANCH_FOLLOWER_TEMPORAL_API_KEY: 'our-key' }),
    ).toMatchObject({ apiKey: 'our-key' });
    await expect(security(keyed, { TEMPORAL_API_KEY: 'their-key' })).rejects.toThrow(
      /BRANCH_FOLLOWER_TEMPORAL_API_KEY/,
    );
  });

  it('every usage error exits 2 with a hint, before any connection', async () => {
    const help = (command?: string) =>
      command ? `hint: branch-follower ${command} --help lists its options` : 'hint: branch-follower --help lists';
    const cases: [args: string[], said: string, hint: string][] = [
      [['status', '--bogus'], "unknown option '--bogus'", help('status')],
      [['status', 'extra'], 'too many arguments', help('status')],
      [['trigger', '--reason', 'r'], "required option '--follower <id>' not specified", help('trigger')],
      [['completion'], "missing required argument 'shell'", help('completion')],
      [['-o', 'nope', 'status'], "argument 'nope' is invalid", help()],
      [
        ['--json', '-o', 'yaml', 'status'],
        "option '--json' cannot be used with option '-o, --output <format>'",
        help(),
      ],
      [['frobnicate'], "unknown command 'frobnicate'", help()],
      [
        ['run-once', '--all', '--follower', 'hwlab-jd01-v03'],
        "option '--all' cannot be used with option '--follower <id>'",
        help('run-once'),
      ],
      [['wait', '--follower', 'hwlab-jd01-v03', '--sha', 'NOTHEX'], 'expected a sha or its first digits', help('wait')],
      [['explain', '--follower', 'hwlab-jd01-v03', '--sha', ''], 'expected a sha or its first digits', help('explain')],
      [
        ['trigger', '--follower', 'hwlab-jd01-v03', '--reason', 'r', '--sha', 'abc1234'],
        'expected the whole sha',
        help('trigger'),
      ],
      [['logs', '--follower', 'web-probe-sentinel-master'], 'declares no logs command', 'hint: add logs: { argv:'],
    ];
    for (const [args, said, hint] of cases) {
      const res = await cli(['--registry', REGISTRY, ...args], {
        BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
      });
      expect(res.code, args.join(' ')).toBe(Exit.Usage);
      expect(res.err, args.join(' ')).toContain(said);
      expect(res.err, args.join(' ')).toContain(hint);
      expect(res.err, args.join(' ')).not.toContain('cannot reach');
    }
  });

  it('an override in the environment that is not a plain name is a usage error with a hint', async () => {
    for (const variable of ['BRANCH_FOLLOWER_TEMPORAL_NAMESPACE', 'BRANCH_FOLLOWER_TASK_QUEUE']) {
      const res = await cli(['--registry', REGISTRY, 'status'], {
        BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
        [variable]: 'team a',
      });
      expect(res.code, variable).toBe(Exit.Usage);
      expect(res.err, variable).toContain(`${variable}="team a" is not a plain name`);
      expect(res.err, variable).toMatch(/^hint: \S/m);
    }
  });

  it('a whole sha is taken in either case and of either length (SHA-1, SHA-256): the command goes on to connect', async () => {
    for (const sha of ['A'.repeat(40), 'b'.repeat(64)]) {
      const res = await cli(
        ['--registry', REGISTRY, 'trigger', '--follower', 'hwlab-jd01-v03', '--reason', 'r', '--sha', sha],
        { BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}` },
      );
      expect(res.code, sha).toBe(Exit.Unreachable);
    }
  });

  it('-n names the Temporal namespace and --context the kubeconfig context; a bad value of either is a usage error', async () => {
    const badNamespace = await cli(['--registry', REGISTRY, '-n', 'team a', 'status'], {
      BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}`,
    });
    expect(badNamespace.code).toBe(Exit.Usage);
    expect(badNamespace.err).toContain('-n "team a" is not a Temporal namespace name');
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'current-context: a',
        'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]',
        'users: [{ name: u, user: { token: t } }]',
        'contexts: [{ name: a, context: { cluster: c, user: u } }, { name: b, context: { cluster: c, user: u } }]',
        '',
      ].join('\n'),
    );
    const noSuchContext = await cli(
      ['--registry', REGISTRY, '--kubeconfig', kubeconfig, '--context', 'nope', 'plan', '--scope', 'cluster'],
      { BRANCH_FOLLOWER_TEMPORAL_ADDRESS: `127.0.0.1:${port}` },
    );
    expect(noSuchContext.code).toBe(Exit.Usage);
    expect(noSuchContext.err).toContain('kubeconfig has no context "nope" (--context)');
    expect(noSuchContext.err).toContain('contexts: a, b');
  });
});
