// Loads config/cicd-branch-followers.yaml into resolved FollowerSpecs. Every problem is
// reported with file:line:column, its YAML path and a hint; a registry with any problem
// yields no specs at all, so nothing is ever half-applied.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { KUBE_KINDS, kubeKind } from '../contract/kube-kinds/index.ts';
import { readsObject } from '../contract/kube-kinds/checked-objects.ts';
import type { AdapterSpec, CheckKind, CheckRule, FollowerSpec, ValueSource } from '../contract/spec.ts';
import type { Endpoint, Sink } from '../contract/notify.ts';
import { parseDuration } from './duration.ts';
import { placeholders, renderString, stringsIn } from './placeholders.ts';
import { registrySchema, type RegistryDocument } from './schema.ts';
import { escapeForDisplay, invisibleCharacterProblem } from './text-safety.ts';
import {
  documentProblems,
  MAX_ALIAS_COUNT,
  position,
  rawTextProblems,
  scalars,
  type GuardIssue,
} from './yaml-guard.ts';

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
  hint: string;
}

export class ConfigError extends Error {
  /** One `file:line:col: path: message (hint: …)` line per issue. */
  readonly lines: string[];
  constructor(readonly issues: ConfigIssue[]) {
    const lines = issues.map(formatIssue);
    super(lines.join('\n'));
    this.lines = lines;
    this.name = 'ConfigError';
  }
}

const formatIssue = (i: ConfigIssue): string =>
  `${i.file}:${i.line}:${i.column}: ${i.path || '(document)'}: ${i.message}${i.hint ? ` (hint: ${i.hint})` : ''}`;

/** Where the registry lives in this repository; `BRANCH_FOLLOWER_REGISTRY` points elsewhere. */
export const DEFAULT_REGISTRY = 'config/cicd-branch-followers.yaml';

export interface Registry {
  /** The registry file as given (for messages) and its directory (the base of relative paths). */
  file: string;
  dir: string;
  /** The registry text as read (what `apply` puts in the registry ConfigMap). */
  text: string;
  controller: RegistryDocument['controller'];
  followers: { spec: FollowerSpec; enabled: boolean }[];
  /** The notification sinks (`notify:`), resolved. */
  sinks: Sink[];
  /** Files the registry refers to (configRefs, templates), relative to `dir`. */
  files: string[];
}

/** Placeholders every adapter command may use; target params add their own names. */
const BUILTIN_PLACEHOLDERS = ['sha', 'branch', 'follower', 'configRef'] as const;
const JOB_PLACEHOLDER = 'jobId';
/** The trigger key (follower, sha, run): what a runtime echoes so that a retried trigger never fires twice. */
const TRIGGER_PLACEHOLDER = 'triggerId';

export function loadRegistry(file: string): Registry {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      {
        file,
        line: 0,
        column: 0,
        path: '',
        message: `cannot read the registry: ${(err as Error).message}`,
        hint: 'pass --registry with an existing file',
      },
    ]);
  }
  return parseRegistry(text, file);
}

/** Refuses the file with these issues, one per problem, in the order they appear in it. */
function refuse(issues: ConfigIssue[]): never {
  throw new ConfigError([...issues].sort((a, b) => a.line - b.line || a.column - b.column));
}

export function parseRegistry(text: string, file: string): Registry {
  const lines = new LineCounter();
  const fromGuard = (g: GuardIssue): ConfigIssue => ({
    file,
    ...position(lines, g.offset),
    path: formatPath(g.path),
    message: g.message,
    hint: g.hint,
  });
  const raw = rawTextProblems(text);
  if (raw.length) {
    // Not parsed (the parser is what these limits protect): positions from the text itself.
    refuse(
      raw.map((g) => ({
        file,
        line: text.slice(0, g.offset).split('\n').length,
        column: g.offset - text.lastIndexOf('\n', g.offset - 1),
        path: '',
        message: g.message,
        hint: g.hint,
      })),
    );
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const at = locator(doc, lines, file);

  if (doc.errors.length > 0) {
    refuse(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return {
          file,
          line: pos.line,
          column: pos.col,
          path: '',
          message: `YAML syntax: ${e.message.split('\n')[0]}`,
          hint: 'fix the YAML syntax first',
        };
      }),
    );
  }
  const textIssues = scalars(doc).flatMap(({ path: p, offset, text: value, isKey }) => {
    const problem = invisibleCharacterProblem(value);
    return problem
      ? [
          fromGuard({
            offset,
            path: p,
            message: `${isKey ? 'key' : 'value'} ${problem}`,
            hint: 'retype it: write only characters you can see',
          }),
        ]
      : [];
  });
  const docIssues = [...documentProblems(doc).map(fromGuard), ...textIssues];
  if (docIssues.length) refuse(docIssues);
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    refuse([
      {
        file,
        line: 1,
        column: 1,
        path: '',
        message: 'the registry is empty',
        hint: 'write its four sections: controller:, defaults:, adapters: and followers: (see docs/registry.md)',
      },
    ]);
  }

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    const firstAlias = text.search(/(^|[\s[{,:])\*[^\s,\]}]/m);
    refuse([
      {
        file,
        ...position(lines, Math.max(0, firstAlias)),
        path: '',
        message: `aliases expand past ${MAX_ALIAS_COUNT} copies (an alias bomb?)`,
        hint: 'write the shared value out, or share fewer copies of it',
      },
    ]);
  }

  const parsed = registrySchema.safeParse(value);
  if (!parsed.success) refuse(schemaIssues(parsed.error.issues, doc, value, at));

  const reg = parsed.data;
  const dir = path.dirname(path.resolve(file));
  const issues = crossCheck(reg, dir, at);
  const templates = loadTemplates(reg, dir, at, issues);
  if (issues.length > 0) refuse(issues);

  const source = (p: (string | number)[]): ValueSource => {
    const i = at(p, '', '');
    return { path: formatPath(p), file, line: i.line };
  };

  const projection = reg.controller.kubernetes
    ? { namespace: reg.controller.kubernetes.namespace, configMap: reg.controller.kubernetes.configMaps.state }
    : undefined;
  const sinks = Object.entries(reg.notify ?? {}).map(([id, sink]) => resolveSink(id, sink));
  const followers = reg.followers.map((f, index) => {
    const a = reg.adapters[f.adapter]!;
    const d = reg.defaults;
    const params = f.target.params ?? {};
    // Kubernetes names may use the follower's params (checked in crossCheck).
    const kubeName = (value: string): string => renderKubeName(value, f.id, params);
    const budgetPath = f.closeout.budget
      ? ['followers', index, 'closeout', 'budget']
      : ['defaults', 'closeout', 'budget'];
    const timeoutMs = parseDuration(a.timeout ?? d.adapter.timeout);
    const adapter: AdapterSpec =
      a.kind === 'command'
        ? {
            id: f.adapter,
            kind: a.kind,
            timeoutMs,
            maxOutputBytes: a.maxOutputBytes ?? d.adapter.maxOutputBytes,
            env: a.env ?? [],
            status: a.status,
            trigger: a.trigger,
            ...(a.cancel ? { cancel: a.cancel } : {}),
            ...(a.logs ? { logs: a.logs } : {}),
          }
        : {
            id: f.adapter,
            kind: a.kind,
            timeoutMs,
            env: [],
            namespace: kubeName(a.namespace),
            template: templates.get(f.adapter)!,
            templateFile: a.template,
          };
    const rule = a.checks[f.closeout.check]!;
    const resolvedRule: CheckRule = readsObject(rule)
      ? { ...rule, namespace: kubeName(rule.namespace), name: kubeName(rule.name) }
      : rule;
    const retry = { ...d.retry, ...f.retry };
    const quiet = f.quietPeriod ?? d.quietPeriod;
    const quietPeriodMs = quiet === undefined ? 0 : parseDuration(quiet);
    const spec: FollowerSpec = {
      id: f.id,
      source: { mirror: f.source.mirror, branch: f.source.branch, ...(f.source.auth ? { auth: f.source.auth } : {}) },
      target: { configRef: f.target.configRef, params },
      adapter,
      pollIntervalMs: parseDuration(f.pollInterval ?? d.pollInterval),
      observeTimeoutMs: parseDuration(d.observe.timeout),
      ...(quietPeriodMs ? { quietPeriodMs } : {}),
      ...(f.notify?.length
        ? {
            notify: {
              sinks: f.notify.map((id) => sinks.find((s) => s.id === id)!),
              ...(reg.controller.temporal.uiUrl ? { temporalUiUrl: reg.controller.temporal.uiUrl } : {}),
            },
          }
        : {}),
      ...(reg.controller.webhooks
        ? { pushWebhooks: { announceWindowMs: parseDuration(reg.controller.webhooks.announceWindow ?? '5m') } }
        : {}),
      ...(d.observe.mode === 'watch'
        ? { watched: { fallbackIntervalMs: parseDuration(d.observe.fallbackInterval) } }
        : {}),
      closeout: {
        ...resolvedRule,
        check: f.closeout.check,
        budgetMs: parseDuration(f.closeout.budget ?? d.closeout.budget),
        budgetSource: source(budgetPath),
        pollIntervalMs: parseDuration(f.closeout.pollInterval ?? d.closeout.pollInterval),
      },
      retry: {
        maxAttempts: retry.maxAttempts,
        initialBackoffMs: parseDuration(retry.initialBackoff),
        backoffCoefficient: retry.backoffCoefficient,
        maxBackoffMs: parseDuration(retry.maxBackoff),
      },
      loop: d.loop,
      activity: {
        heartbeatTimeoutMs: parseDuration(d.activity.heartbeatTimeout),
        maxAttempts: d.activity.maxAttempts,
        maxRetryIntervalMs: parseDuration(d.activity.maxRetryInterval),
      },
      ...(projection ? { projection } : {}),
    };
    return { spec, enabled: f.enabled };
  });

  const files = [
    ...new Set([
      ...reg.followers.map((f) => f.target.configRef),
      ...Object.values(reg.adapters).flatMap((a) => (a.kind === 'command' ? [] : [a.template])),
    ]),
  ];
  return { file, dir, text, controller: reg.controller, followers, sinks, files };
}

type Locate = (p: (string | number)[], message: string, hint: string, keyOfLast?: boolean) => ConfigIssue;

/**
 * The schema's complaints, one per problem and each saying what to write: a misspelt key is one
 * "did you mean" (not an unknown key plus a missing one), a key with hidden lookalike characters
 * is shown escaped, a missing key under defaults: says why it is required.
 */
function schemaIssues(zodIssues: z.core.$ZodIssue[], doc: Document, value: unknown, at: Locate): ConfigIssue[] {
  const unknown: { parent: (string | number)[]; key: string }[] = [];
  const missing: { parent: (string | number)[]; key: string }[] = [];
  const issues: ConfigIssue[] = [];
  for (const issue of zodIssues) {
    const p = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
    if (issue.code === 'unrecognized_keys') for (const key of issue.keys) unknown.push({ parent: p, key });
    else if (issue.code === 'invalid_type' && p.length > 0 && !doc.hasIn(p))
      missing.push({ parent: p.slice(0, -1), key: String(p[p.length - 1]) });
    else issues.push(at(p, issue.message, hintFor(issue.code, p)));
  }
  const sameParent = (a: (string | number)[], b: (string | number)[]) => formatPath(a) === formatPath(b);
  for (const u of unknown) {
    const present = doc.getIn(u.parent);
    const allowed = allowedKeys(value, u.parent).filter((k) => !(isMap(present) && present.has(k)));
    const meant = closest(u.key, [
      ...missing.filter((m) => sameParent(m.parent, u.parent)).map((m) => m.key),
      ...allowed,
    ]);
    const shown = escapeForDisplay(u.key);
    if (meant) {
      const i = missing.findIndex((m) => sameParent(m.parent, u.parent) && m.key === meant);
      if (i >= 0) missing.splice(i, 1);
      issues.push(
        at([...u.parent, u.key], `unknown key ${shown}: did you mean "${meant}"?`, `rename it to ${meant}`, true),
      );
    } else {
      issues.push(
        at(
          [...u.parent, u.key],
          `unknown key ${shown}`,
          allowed.length ? `keys allowed here: ${allowed.join(', ')}` : hintForUnknown(u.parent),
          true,
        ),
      );
    }
  }
  for (const m of missing) {
    const p = [...m.parent, m.key];
    const hint =
      p[0] === 'defaults'
        ? `add ${m.key}: — every key under defaults: is required: it is the only source of fallbacks`
        : `add ${m.key}: (see docs/registry.md)`;
    issues.push(at(p, `missing required key "${m.key}"`, hint));
  }
  return issues;
}

/** The keys the schema allows at a path of the document, for "did you mean" and hints. */
function allowedKeys(value: unknown, p: (string | number)[]): string[] {
  interface Def {
    type: string;
    shape?: Record<string, Schema>;
    innerType?: Schema;
    element?: Schema;
    valueType?: Schema;
    options?: Schema[];
    discriminator?: string;
    values?: unknown[];
  }
  interface Schema {
    _zod: { def: Def };
  }
  let schema: Schema | undefined = registrySchema as unknown as Schema;
  let node: unknown = value;
  const unwrap = (s: Schema | undefined, at: unknown): Schema | undefined => {
    let cur = s;
    for (;;) {
      const def = cur?._zod.def;
      if (def?.type === 'optional' || def?.type === 'nullable') cur = def.innerType;
      else if (def?.type === 'union' && def.discriminator) {
        const tag = at && typeof at === 'object' ? (at as Record<string, unknown>)[def.discriminator] : undefined;
        const discriminator = def.discriminator;
        cur = def.options?.find((o) => o._zod.def.shape?.[discriminator]?._zod.def.values?.includes(tag));
        if (!cur) return undefined;
      } else return cur;
    }
  };
  for (const key of p) {
    const def: Def | undefined = unwrap(schema, node)?._zod.def;
    if (!def) return [];
    node = node && typeof node === 'object' ? (node as Record<string | number, unknown>)[key] : undefined;
    schema =
      def.type === 'object'
        ? (def.shape?.[key] as Schema | undefined)
        : def.type === 'array'
          ? def.element
          : def.type === 'record'
            ? def.valueType
            : undefined;
  }
  const last: Def | undefined = unwrap(schema, node)?._zod.def;
  return last?.type === 'object' ? Object.keys(last.shape ?? {}) : [];
}

/** The candidate a misspelling most likely meant: within two edits, or the same once lookalikes are read as ASCII. */
function closest(word: string, candidates: string[]): string | undefined {
  const skeleton = (w: string) =>
    w
      .normalize('NFKD')
      .replace(/[^\x00-\x7f]/g, (c) => LOOKALIKES[c] ?? '?')
      .toLowerCase();
  let best: { c: string; d: number } | undefined;
  for (const c of new Set(candidates)) {
    if (c === word) continue;
    const d = skeleton(c) === skeleton(word) ? 0 : editDistance(c.toLowerCase(), word.toLowerCase());
    if (d <= 2 && (!best || d < best.d)) best = { c, d };
  }
  return best?.c;
}

/** Cyrillic and Greek letters that look like Latin ones. */
const LOOKALIKES: Record<string, string> = {
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  у: 'y',
  х: 'x',
  і: 'i',
  ј: 'j',
  ѕ: 's',
  ԁ: 'd',
  ο: 'o',
  α: 'a',
  ε: 'e',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  τ: 't',
  υ: 'u',
};

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** Check kinds that read what an adapter made, and the adapter kind they need (a built-in kind's check is named like it). */
const CHECK_NEEDS_ADAPTER: Partial<Record<CheckKind, AdapterSpec['kind']>> = {
  'adapter-status': 'command',
  ...Object.fromEntries(KUBE_KINDS.map((k) => [k.name, k.name])),
};

function crossCheck(reg: RegistryDocument, dir: string, at: Locate): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Map<string, number>();
  const adapterIds = Object.keys(reg.adapters);
  /** Every follower using adapter `id` (and, for a check, that check) must set each param a placeholder names. */
  const needParams = (id: string, names: string[], builtins: readonly string[], where: string, check?: string) => {
    for (const ph of names) {
      if (builtins.includes(ph)) continue;
      reg.followers.forEach((f, fi) => {
        if (f.adapter === id && (!check || f.closeout.check === check) && !(f.target.params && ph in f.target.params)) {
          issues.push(
            at(
              ['followers', fi, 'target', 'params'],
              `adapter ${id} ${where} uses {${ph}}, which this follower does not set`,
              `add "${ph}:" under target.params, or use one of {${builtins.join('} {')}}`,
            ),
          );
        }
      });
    }
  };

  for (const [id, a] of Object.entries(reg.adapters)) {
    if (a.kind === 'command') {
      for (const op of ['status', 'trigger', 'cancel', 'logs'] as const) {
        const argv = a[op]?.argv ?? [];
        const builtins =
          op === 'cancel' || op === 'logs'
            ? [...BUILTIN_PLACEHOLDERS, JOB_PLACEHOLDER]
            : op === 'trigger'
              ? [...BUILTIN_PLACEHOLDERS, TRIGGER_PLACEHOLDER]
              : BUILTIN_PLACEHOLDERS;
        argv.forEach((arg, i) => {
          if (i === 0 && arg.includes('{'))
            issues.push(
              at(
                ['adapters', id, op, 'argv', 0],
                'the program (argv[0]) cannot hold a placeholder',
                'name the program literally',
              ),
            );
          needParams(id, placeholders(arg), builtins, op);
        });
      }
      const k8s = reg.controller.kubernetes;
      (a.env ?? []).forEach((envName, i) => {
        if (k8s && !k8s.env?.[envName]) {
          issues.push(
            at(
              ['adapters', id, 'env', i],
              `${envName} has no source in the cluster`,
              `add controller.kubernetes.env.${envName}: { secretKeyRef: { name: <secret>, key: <key> } }`,
            ),
          );
        }
      });
    } else {
      needParams(id, placeholders(a.namespace), ['follower'], 'namespace');
    }
    for (const [checkName, c] of Object.entries(a.checks)) {
      const needs = CHECK_NEEDS_ADAPTER[c.kind];
      if (needs && needs !== a.kind) {
        issues.push(
          at(
            ['adapters', id, 'checks', checkName, 'kind'],
            `a ${c.kind} check needs a ${needs} adapter; ${id} is ${a.kind}`,
            c.kind === 'adapter-status'
              ? 'use the check kind of this adapter (same name as its kind)'
              : `use it under a ${needs} adapter`,
          ),
        );
      }
      if (readsObject(c)) {
        needParams(
          id,
          [...placeholders(c.namespace), ...placeholders(c.name)],
          ['follower'],
          `check ${checkName}`,
          checkName,
        );
      }
    }
  }

  const authOfMirror = new Map<string, { auth: string; at: number }>();
  reg.followers.forEach((f, i) => {
    const auth = f.source.auth;
    const scheme = f.source.mirror.split(':')[0];
    if (auth) {
      const kind = Object.keys(auth)[0]!;
      const fits = kind === 'sshKeyFileEnv' ? scheme === 'ssh' : scheme === 'http' || scheme === 'https';
      if (!fits) {
        issues.push(
          at(
            ['followers', i, 'source', 'auth', kind],
            `${kind} does not apply to a ${scheme}:// mirror`,
            kind === 'sshKeyFileEnv'
              ? 'use it with an ssh:// mirror'
              : 'use it with an http(s):// mirror; git:// and file:// mirrors take no credentials',
          ),
        );
      }
      const k8s = reg.controller.kubernetes;
      const names =
        'basicEnv' in auth
          ? [auth.basicEnv.username, auth.basicEnv.password]
          : 'bearerTokenEnv' in auth
            ? [auth.bearerTokenEnv]
            : [auth.sshKeyFileEnv];
      for (const envName of names) {
        if (k8s && !k8s.env?.[envName])
          issues.push(
            at(
              ['followers', i, 'source', 'auth'],
              `${envName} has no source in the cluster`,
              `add controller.kubernetes.env.${envName}: { secretKeyRef: { name: <secret>, key: <key> } }`,
            ),
          );
      }
    }
    // One mirror, one way in: its watcher reads it once for every follower.
    const key = JSON.stringify(auth ?? null);
    const first = authOfMirror.get(f.source.mirror);
    if (first && first.auth !== key)
      issues.push(
        at(
          ['followers', i, 'source', 'auth'],
          `followers[${first.at}] reads the same mirror with other credentials`,
          'give every follower of one mirror the same source.auth',
        ),
      );
    else if (!first) authOfMirror.set(f.source.mirror, { auth: key, at: i });
  });

  reg.followers.forEach((f, i) => {
    const first = seen.get(f.id);
    if (first !== undefined)
      issues.push(
        at(
          ['followers', i, 'id'],
          `duplicate follower id "${f.id}" (first at followers[${first}])`,
          'each follower id names one workflow; rename one',
        ),
      );
    else seen.set(f.id, i);
    const adapter = reg.adapters[f.adapter];
    if (!adapter) {
      issues.push(
        at(
          ['followers', i, 'adapter'],
          `unknown adapter "${f.adapter}"`,
          adapterIds.length ? `declared adapters: ${adapterIds.join(', ')}` : 'declare it under adapters:',
        ),
      );
    } else if (!adapter.checks[f.closeout.check]) {
      const checks = Object.keys(adapter.checks);
      issues.push(
        at(
          ['followers', i, 'closeout', 'check'],
          `adapter ${f.adapter} has no close-out check "${f.closeout.check}"`,
          checks.length ? `its checks: ${checks.join(', ')}` : `declare it under adapters.${f.adapter}.checks`,
        ),
      );
    }
    const problem = relativeFileProblem(dir, f.target.configRef);
    if (problem) issues.push(at(['followers', i, 'target', 'configRef'], `configRef ${problem.message}`, problem.hint));

    // Names rendered from this follower's params must be valid Kubernetes names.
    const names: [string, (string | number)[], boolean][] = [];
    if (adapter && adapter.kind !== 'command')
      names.push([adapter.namespace, ['adapters', f.adapter, 'namespace'], true]);
    const rule = adapter?.checks[f.closeout.check];
    if (rule && readsObject(rule)) {
      const checkPath = ['adapters', f.adapter, 'checks', f.closeout.check];
      names.push([rule.namespace, [...checkPath, 'namespace'], true], [rule.name, [...checkPath, 'name'], false]);
    }
    for (const [template, yamlPath, label] of names) {
      if (placeholders(template).some((ph) => ph !== 'follower' && !(f.target.params && ph in f.target.params)))
        continue; // reported above
      const rendered = renderKubeName(template, f.id, f.target.params ?? {});
      const bad = label ? dnsLabelProblem(rendered) : dnsSubdomainProblem(rendered);
      if (bad)
        issues.push(
          at(
            ['followers', i, 'target', 'params'],
            `${formatPath(yamlPath)} renders to "${rendered}" for this follower, which ${bad}`,
            'set params that make a valid Kubernetes name',
          ),
        );
    }
  });
  const sinkIds = Object.keys(reg.notify ?? {});
  reg.followers.forEach((f, i) =>
    f.notify?.forEach((id, j) => {
      if (f.notify!.indexOf(id) !== j)
        issues.push(at(['followers', i, 'notify', j], `sink "${id}" named twice`, 'name each sink once'));
      else if (!reg.notify?.[id])
        issues.push(
          at(
            ['followers', i, 'notify', j],
            `unknown notification sink "${id}"`,
            sinkIds.length ? `declared sinks: ${sinkIds.join(', ')}` : 'declare it under notify:',
          ),
        );
    }),
  );
  // A webhook or sink secret, like an adapter's env, reaches the pod only from a Secret the registry names.
  const k8s = reg.controller.kubernetes;
  for (const [id, sink] of Object.entries(reg.notify ?? {}))
    for (const key of ['urlEnv', 'bearerTokenEnv', 'tokenEnv'] as const) {
      const env = (sink as Partial<Record<typeof key, string>>)[key];
      if (k8s && env && !k8s.env?.[env])
        issues.push(
          at(
            ['notify', id, key],
            `${env} has no source in the cluster`,
            `add controller.kubernetes.env.${env}: { secretKeyRef: { name: <secret>, key: <key> } }`,
          ),
        );
    }
  for (const [id, source] of Object.entries(reg.controller.webhooks?.sources ?? {})) {
    if (k8s && !k8s.env?.[source.secretEnv])
      issues.push(
        at(
          ['controller', 'webhooks', 'sources', id, 'secretEnv'],
          `${source.secretEnv} has no source in the cluster`,
          `add controller.kubernetes.env.${source.secretEnv}: { secretKeyRef: { name: <secret>, key: <key> } }`,
        ),
      );
  }
  return issues;
}

const renderKubeName = (template: string, follower: string, params: Record<string, string>): string =>
  renderString(template, { ...params, follower }, (n) => `{${n}}`);

/** Letters, digits and `._-` per component: nothing a shell, an option parser or a reader could take for more. */
const SAFE_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/**
 * A file the registry names (a configRef, a template) must be a plain relative path to an existing
 * file inside the registry's directory — its real path, symlinks resolved, so a link cannot ship a
 * host file into the cluster.
 */
function relativeFileProblem(dir: string, ref: string): { message: string; hint: string } | undefined {
  if (path.isAbsolute(ref) || ref.split('/').some((c) => c === '..' || c === '.')) {
    return {
      message: `"${ref}" must be a path inside the registry's directory`,
      hint: 'write it relative to the registry file, without "." or ".." components',
    };
  }
  if (!SAFE_PATH.test(ref) || ref.split('/').some((c) => c.startsWith('-'))) {
    return {
      message: `${escapeForDisplay(ref)} is not a plain path`,
      hint: 'use letters, digits, ".", "_" and "-" in each component (not leading "-"), separated by "/"',
    };
  }
  if (!existsSync(path.join(dir, ref)))
    return { message: `"${ref}" does not exist (looked in ${dir})`, hint: 'paths are relative to the registry file' };
  const realDir = realpathSync(dir);
  const real = realpathSync(path.join(dir, ref));
  if (real !== realDir && !real.startsWith(`${realDir}${path.sep}`)) {
    return {
      message: `"${ref}" leads outside the registry's directory (to ${real}) through a symbolic link`,
      hint: "copy the file into the registry's directory instead of linking it",
    };
  }
  if (!statSync(real).isFile()) return { message: `"${ref}" is not a file`, hint: 'name a file, not a directory' };
  return undefined;
}

/** Reads each built-in adapter's object template; its problems point into the template file. */
function loadTemplates(
  reg: RegistryDocument,
  dir: string,
  at: Locate,
  issues: ConfigIssue[],
): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const [id, a] of Object.entries(reg.adapters)) {
    if (a.kind === 'command') continue;
    const problem = relativeFileProblem(dir, a.template);
    if (problem) {
      issues.push(at(['adapters', id, 'template'], `template ${problem.message}`, problem.hint));
      continue;
    }
    const file = path.join(dir, a.template);
    const lines = new LineCounter();
    const doc = parseDocument(readFileSync(file, 'utf8'), {
      lineCounter: lines,
      prettyErrors: false,
      uniqueKeys: true,
    });
    const issue = (p: (string | number)[], message: string, hint: string): ConfigIssue => {
      const node = p.length ? (doc.getIn(p, true) as Node | undefined) : (doc.contents as Node | null);
      const pos = node?.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
      return { file, line: pos.line, column: pos.col, path: formatPath(p), message, hint };
    };
    if (doc.errors.length > 0) {
      const pos = lines.linePos(doc.errors[0]!.pos[0]);
      issues.push({
        file,
        line: pos.line,
        column: pos.col,
        path: '',
        message: `YAML syntax: ${doc.errors[0]!.message.split('\n')[0]}`,
        hint: `adapters.${id}.template must hold one object`,
      });
      continue;
    }
    const obj: unknown = doc.toJS();
    const want = kubeKind(a.kind);
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      issues.push(issue([], 'expected one Kubernetes object', `a ${want.kind} with apiVersion ${want.apiVersion}`));
      continue;
    }
    const o = obj as { apiVersion?: unknown; kind?: unknown; metadata?: Record<string, unknown> };
    if (o.apiVersion !== want.apiVersion || o.kind !== want.kind) {
      issues.push(
        issue(
          ['kind'],
          `expected apiVersion ${want.apiVersion} and kind ${want.kind}, found ${String(o.apiVersion)} ${String(o.kind)}`,
          `adapters.${id} is ${a.kind}`,
        ),
      );
      continue;
    }
    for (const key of ['name', 'generateName', 'namespace'] as const) {
      if (o.metadata?.[key] !== undefined) {
        issues.push(
          issue(
            ['metadata', key],
            `metadata.${key} is set by the follower`,
            key === 'namespace'
              ? `remove it: adapters.${id}.namespace decides`
              : 'remove it: each run is named by its trigger key <follower>-<sha>-<run>, so a retried trigger cannot create two',
          ),
        );
      }
    }
    const users = reg.followers.filter((f) => f.adapter === id);
    for (const { path: p, text } of stringsIn(obj)) {
      for (const ph of placeholders(text)) {
        if ((TEMPLATE_PLACEHOLDERS as readonly string[]).includes(ph)) continue;
        const lacking = users.filter((f) => !(f.target.params && ph in f.target.params)).map((f) => f.id);
        if (lacking.length)
          issues.push(
            issue(
              p,
              `{${ph}} is neither built in nor a param of ${lacking.join(', ')}`,
              `use {${TEMPLATE_PLACEHOLDERS.join('} {')}} or a key of target.params`,
            ),
          );
      }
    }
    out.set(id, obj as Record<string, unknown>);
  }
  return out;
}

/** Placeholders an object template may use besides the follower's params. */
export const TEMPLATE_PLACEHOLDERS = ['sha', 'branch', 'follower', 'triggerId'] as const;

function dnsLabelProblem(v: string): string | undefined {
  if (v.length > 63) return 'is longer than 63 characters';
  return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(v) ? undefined : 'is not a DNS label (a-z, 0-9, "-")';
}

function dnsSubdomainProblem(v: string): string | undefined {
  if (v.length > 253) return 'is longer than 253 characters';
  return /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(v) ? undefined : 'is not a DNS subdomain (a-z, 0-9, "-", ".")';
}

function locator(doc: Document, lines: LineCounter, file: string): Locate {
  return (p, message, hint, keyOfLast = false) => {
    let node: Node | null | undefined;
    // Walk up until some prefix of the path exists in the document (a missing key's parent).
    for (let n = p.length; n >= 0 && !node; n--) {
      const prefix = p.slice(0, n);
      if (keyOfLast && n === p.length) {
        const parent = doc.getIn(p.slice(0, -1), true);
        if (isMap(parent)) {
          const pair = parent.items.find((it) => isScalar(it.key) && it.key.value === p[p.length - 1]);
          node = pair?.key as Node | undefined;
        }
        continue;
      }
      node = prefix.length === 0 ? (doc.contents as Node | null) : (doc.getIn(prefix, true) as Node | undefined);
    }
    const pos = node?.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
    return { file, line: pos.line, column: pos.col, path: formatPath(p), message, hint };
  };
}

function formatPath(p: (string | number)[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

function hintFor(code: string, p: (string | number)[]): string {
  const last = p[p.length - 1];
  if (code === 'invalid_type') return `check the type of ${last ?? 'this value'} against docs/registry.md`;
  return 'see docs/registry.md for the expected value';
}

function hintForUnknown(p: (string | number)[]): string {
  return `remove it or fix its spelling; keys allowed at ${formatPath(p) || 'the top level'} are listed in docs/registry.md`;
}

/** A sink as the workflow carries it: where to reach it, and env names for anything secret. */
function resolveSink(id: string, sink: NonNullable<RegistryDocument['notify']>[string]): Sink {
  switch (sink.kind) {
    case 'cloudevents': {
      const url: Endpoint = sink.url !== undefined ? { url: sink.url } : { env: sink.urlEnv! };
      return { id, kind: 'cloudevents', url, ...(sink.bearerTokenEnv ? { bearerTokenEnv: sink.bearerTokenEnv } : {}) };
    }
    case 'chat':
      return { id, kind: 'chat', url: { env: sink.urlEnv } };
    case 'github-status':
    case 'gitea-status':
      return {
        id,
        kind: sink.kind,
        apiUrl: (sink.apiUrl ?? GITHUB_API).replace(/\/+$/, ''),
        tokenEnv: sink.tokenEnv,
        ...(sink.repository ? { repository: sink.repository } : {}),
        ...(sink.context ? { context: sink.context } : {}),
      };
  }
}

const GITHUB_API = 'https://api.github.com';
