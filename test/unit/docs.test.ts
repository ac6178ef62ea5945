// Facts live once and the docs are rendered from them: reason codes (contract/codes.ts →
// docs/codes.md), the registry's limits (config/limits.ts → docs/registry.md), the built-in
// Kubernetes kinds (contract/kube-kinds/ → docs/adapters.md) and the metrics (contract/metrics.ts
// → docs/metrics.md).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { DEFAULT_REGISTRY } from '../../config/registry.ts';
import { CODES, FailureCode, isCode } from '../../contract/codes.ts';
import { PHASES } from '../../contract/state.ts';
import { defineProgram } from '../../client/cli.ts';
import { KUBE_KINDS } from '../../contract/kube-kinds/index.ts';
import { CLI_DOC, EXAMPLE, shellWords } from '../../scripts/cli-examples.ts';
import {
  ADAPTERS_DOC,
  CODES_DOC,
  METRICS_DOC,
  REGISTRY_DOC,
  REGISTRY_SCHEMA,
  renderCodesDoc,
  renderKubeKinds,
  renderLimits,
  renderMetrics,
  renderRegistrySchema,
  withKubeKinds,
  withLimits,
  withMetrics,
} from '../../scripts/docs.ts';

describe('rendered docs', () => {
  it('docs/codes.md is what contract/codes.ts renders (run `npm run docs` after a change)', () => {
    expect(readFileSync(CODES_DOC, 'utf8')).toBe(renderCodesDoc());
  });

  it('docs/registry.md lists the limits config/limits.ts enforces (run `npm run docs` after a change)', () => {
    const doc = readFileSync(REGISTRY_DOC, 'utf8');
    expect(doc).toContain(renderLimits().join('\n'));
    expect(withLimits(doc)).toBe(doc);
  });

  it('docs/adapters.md has a row for every built-in Kubernetes kind, from its descriptor (run `npm run docs` after a change)', () => {
    const doc = readFileSync(ADAPTERS_DOC, 'utf8');
    expect(doc).toContain(renderKubeKinds().join('\n'));
    for (const k of KUBE_KINDS) expect(doc).toContain(`| \`${k.name}\` | \`${k.apiVersion}\` ${k.kind} |`);
    expect(withKubeKinds(doc)).toBe(doc);
  });

  it('docs/metrics.md lists the metrics contract/metrics.ts defines (run `npm run docs` after a change)', () => {
    const doc = readFileSync(METRICS_DOC, 'utf8');
    expect(doc).toContain(renderMetrics().join('\n'));
    expect(withMetrics(doc)).toBe(doc);
  });

  it('docs/registry.schema.json is what config/schema.ts renders (run `npm run docs` after a change)', () => {
    expect(readFileSync(REGISTRY_SCHEMA, 'utf8')).toBe(renderRegistrySchema());
  });

  it('the shipped registry points editors at the schema and validates against it; a misspelt key or a duration without a unit does not', () => {
    const file = path.resolve(import.meta.dirname, '../..', DEFAULT_REGISTRY);
    const text = readFileSync(file, 'utf8');
    const modeline = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text);
    expect(path.resolve(path.dirname(file), modeline![1]!)).toBe(REGISTRY_SCHEMA);
    const validate = new Ajv2020({ allErrors: true, strict: false }).compile(
      JSON.parse(readFileSync(REGISTRY_SCHEMA, 'utf8')) as object,
    );
    const doc = YAML.parse(text) as { defaults: Record<string, unknown> };
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...doc, defaults: { ...doc.defaults, pollIntervall: '15s' } })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({
      keyword: 'additionalProperties',
      params: { additionalProperty: 'pollIntervall' },
    });
    expect(validate({ ...doc, defaults: { ...doc.defaults, pollInterval: '15' } })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ keyword: 'pattern', instancePath: '/defaults/pollInterval' });
  });

  it('each code names a real phase (or is an event) and says what it means', () => {
    for (const [code, { phase, meaning }] of Object.entries(CODES)) {
      if (phase !== null) expect(PHASES, code).toContain(phase);
      expect(meaning.length, code).toBeGreaterThan(20);
    }
  });

  it('every activity failure code is a code', () => {
    for (const code of Object.values(FailureCode)) expect(isCode(code), code).toBe(true);
    expect(isCode('toString')).toBe(false);
    expect(isCode(undefined)).toBe(false);
  });
});

describe('docs/cli.md examples', () => {
  /** The argv of each `$ branch-follower …` line (the quoting cli-examples writes: plain words or '…'). */
  const commandLines = (): string[][] =>
    [...readFileSync(CLI_DOC, 'utf8').matchAll(EXAMPLE)].flatMap(([, , body]) =>
      body!
        .split('\n')
        .filter((l) => l.startsWith('$ branch-follower '))
        .map((l) => shellWords(l.replace(/; echo \$\?$/, '')).slice(2)),
    );

  it('every example command parses with the options the CLI defines today', async () => {
    const lines = commandLines();
    expect(lines.length).toBeGreaterThanOrEqual(10);
    for (const argv of lines) {
      const ran: string[] = [];
      const errors: string[] = [];
      const program = defineProgram(
        { out: () => undefined, err: (t) => errors.push(t.text), color: false },
        async (command) => {
          ran.push(command.name);
        },
      );
      await expect(
        program.parseAsync(argv, { from: 'user' }),
        `${argv.join(' ')}: ${errors.join(' ')}`,
      ).resolves.toBeDefined();
      expect(ran, argv.join(' ')).toHaveLength(1);
      expect(argv, 'the command that ran is the one the line names').toContain(ran[0]);
    }
  });

  it('reads example lines back as the shell would, quotes and all', () => {
    expect(shellWords(`$ branch-follower trigger --reason 'it'\\''s a fix' --sha abc`)).toEqual([
      '$',
      'branch-follower',
      'trigger',
      '--reason',
      "it's a fix",
      '--sha',
      'abc',
    ]);
  });

  it('an option the CLI does not define is caught', async () => {
    const program = defineProgram({ out: () => undefined, err: () => undefined, color: false }, async () => undefined);
    await expect(program.parseAsync(['events', '--follower', 'x', '--since', '1h'], { from: 'user' })).rejects.toThrow(
      /unknown option '--since'/,
    );
  });
});
