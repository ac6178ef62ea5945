// Loads config/cicd-branch-followers.yaml into resolved FollowerSpecs. Every problem is
// reported with file:line:column, its YAML path and a hint; a registry with any problem
// yields no specs at all, so nothing is ever half-applied.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { AdapterSpec, CheckKind, CheckRule, FollowerSpec, KubeAdapterKind, ValueSource } from '../contract/spec.ts';
import { parseDuration } from './duration.ts';
import { placeholders, renderString, stringsIn } from './placeholders.ts';
import { registrySchema, type RegistryDocument } from './schema.ts';

export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
  hint: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
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
      { file, line: 0, column: 0, path: '', message: `cannot read the registry: ${(err as Error).message}`, hint: 'pass --registry with an existing file' },
    ]);
  }
  return parseRegistry(text, file);
}

export function parseRegistry(text: string, file: string): Registry {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = locator(doc, lines, file);

  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: `YAML syntax: ${e.message.split('\n')[0]}`, hint: 'fix the YAML syntax first' };
      }),
    );
  }

  const parsed = registrySchema.safeParse(doc.toJS());
  if (!parsed.success) {
    const issues: ConfigIssue[] = [];
    for (const issue of parsed.error.issues) {
      const p = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) issues.push(at([...p, key], `unknown key "${key}"`, hintForUnknown(p), true));
      } else if (issue.code === 'invalid_type' && p.length > 0 && !doc.hasIn(p)) {
        const key = String(p[p.length - 1]);
        const hint = p[0] === 'defaults' ? 'every key under defaults: is required: it is the only source of fallbacks' : `add ${key}: (see docs/registry.md)`;
        issues.push(at(p, `missing required key "${key}"`, hint));
      } else {
        issues.push(at(p, issue.message, hintFor(issue.code, p)));
      }
    }
    throw new ConfigError(issues);
  }

  const reg = parsed.data;
  const dir = path.dirname(path.resolve(file));
  const issues = crossCheck(reg, dir, at);
  const templates = loadTemplates(reg, dir, at, issues);
  if (issues.length > 0) throw new ConfigError(issues);

  const source = (p: (string | number)[]): ValueSource => {
    const i = at(p, '', '');
    return { path: formatPath(p), file, line: i.line };
  };

  const projection = reg.controller.kubernetes
    ? { namespace: reg.controller.kubernetes.namespace, configMap: reg.controller.kubernetes.configMaps.state }
    : undefined;
  const followers = reg.followers.map((f, index) => {
    const a = reg.adapters[f.adapter]!;
    const d = reg.defaults;
    const params = f.target.params ?? {};
    // Kubernetes names may use the follower's params (checked in crossCheck).
    const kubeName = (value: string): string => renderKubeName(value, f.id, params);
    const budgetPath = f.closeout.budget ? ['followers', index, 'closeout', 'budget'] : ['defaults', 'closeout', 'budget'];
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
    const resolvedRule: CheckRule =
      rule.kind === 'deployment-rollout' || rule.kind === 'argocd-application' ? { ...rule, namespace: kubeName(rule.namespace), name: kubeName(rule.name) } : rule;
    const retry = { ...d.retry, ...f.retry };
    const spec: FollowerSpec = {
      id: f.id,
      source: { mirror: f.source.mirror, branch: f.source.branch },
      target: { configRef: f.target.configRef, params },
      adapter,
      pollIntervalMs: parseDuration(f.pollInterval ?? d.pollInterval),
      observeTimeoutMs: parseDuration(d.observe.timeout),
      ...(d.observe.mode === 'watch' ? { watched: { fallbackIntervalMs: parseDuration(d.observe.fallbackInterval) } } : {}),
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
      registry: file,
    };
    return { spec, enabled: f.enabled };
  });

  const files = [...new Set([...reg.followers.map((f) => f.target.configRef), ...Object.values(reg.adapters).flatMap((a) => (a.kind === 'command' ? [] : [a.template]))])];
  return { file, dir, text, controller: reg.controller, followers, files };
}

type Locate = (p: (string | number)[], message: string, hint: string, keyOfLast?: boolean) => ConfigIssue;

/** Check kinds that read what a built-in adapter created, and the adapter kind they need. */
const CHECK_NEEDS_ADAPTER: Partial<Record<CheckKind, AdapterSpec['kind']>> = {
  'adapter-status': 'command',
  'tekton-pipelinerun': 'tekton-pipelinerun',
  'kubernetes-job': 'kubernetes-job',
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
          issues.push(at(['followers', fi, 'target', 'params'], `adapter ${id} ${where} uses {${ph}}, which this follower does not set`, `add "${ph}:" under target.params, or use one of {${builtins.join('} {')}}`));
        }
      });
    }
  };

  for (const [id, a] of Object.entries(reg.adapters)) {
    if (a.kind === 'command') {
      for (const op of ['status', 'trigger', 'cancel', 'logs'] as const) {
        const argv = a[op]?.argv ?? [];
        const builtins = op === 'cancel' || op === 'logs' ? [...BUILTIN_PLACEHOLDERS, JOB_PLACEHOLDER] : op === 'trigger' ? [...BUILTIN_PLACEHOLDERS, TRIGGER_PLACEHOLDER] : BUILTIN_PLACEHOLDERS;
        argv.forEach((arg, i) => {
          if (i === 0 && arg.includes('{')) issues.push(at(['adapters', id, op, 'argv', 0], 'the program (argv[0]) cannot hold a placeholder', 'name the program literally'));
          needParams(id, placeholders(arg), builtins, op);
        });
      }
      const k8s = reg.controller.kubernetes;
      (a.env ?? []).forEach((envName, i) => {
        if (k8s && !k8s.env?.[envName]) {
          issues.push(at(['adapters', id, 'env', i], `${envName} has no source in the cluster`, `add controller.kubernetes.env.${envName}: { secretKeyRef: { name: <secret>, key: <key> } }`));
        }
      });
    } else {
      needParams(id, placeholders(a.namespace), ['follower'], 'namespace');
    }
    for (const [checkName, c] of Object.entries(a.checks)) {
      const needs = CHECK_NEEDS_ADAPTER[c.kind];
      if (needs && needs !== a.kind) {
        issues.push(at(['adapters', id, 'checks', checkName, 'kind'], `a ${c.kind} check needs a ${needs} adapter; ${id} is ${a.kind}`, c.kind === 'adapter-status' ? 'use the check kind of this adapter (same name as its kind)' : `use it under a ${needs} adapter`));
      }
      if (c.kind === 'deployment-rollout' || c.kind === 'argocd-application') {
        needParams(id, [...placeholders(c.namespace), ...placeholders(c.name)], ['follower'], `check ${checkName}`, checkName);
      }
    }
  }

  reg.followers.forEach((f, i) => {
    const first = seen.get(f.id);
    if (first !== undefined) issues.push(at(['followers', i, 'id'], `duplicate follower id "${f.id}" (first at followers[${first}])`, 'each follower id names one workflow; rename one'));
    else seen.set(f.id, i);
    const adapter = reg.adapters[f.adapter];
    if (!adapter) {
      issues.push(at(['followers', i, 'adapter'], `unknown adapter "${f.adapter}"`, adapterIds.length ? `declared adapters: ${adapterIds.join(', ')}` : 'declare it under adapters:'));
    } else if (!adapter.checks[f.closeout.check]) {
      const checks = Object.keys(adapter.checks);
      issues.push(at(['followers', i, 'closeout', 'check'], `adapter ${f.adapter} has no close-out check "${f.closeout.check}"`, checks.length ? `its checks: ${checks.join(', ')}` : `declare it under adapters.${f.adapter}.checks`));
    }
    const problem = relativeFileProblem(dir, f.target.configRef);
    if (problem) issues.push(at(['followers', i, 'target', 'configRef'], `configRef ${problem.message}`, problem.hint));

    // Names rendered from this follower's params must be valid Kubernetes names.
    const names: [string, (string | number)[], boolean][] = [];
    if (adapter && adapter.kind !== 'command') names.push([adapter.namespace, ['adapters', f.adapter, 'namespace'], true]);
    const rule = adapter?.checks[f.closeout.check];
    if (rule && (rule.kind === 'deployment-rollout' || rule.kind === 'argocd-application')) {
      const checkPath = ['adapters', f.adapter, 'checks', f.closeout.check];
      names.push([rule.namespace, [...checkPath, 'namespace'], true], [rule.name, [...checkPath, 'name'], false]);
    }
    for (const [template, yamlPath, label] of names) {
      if (placeholders(template).some((ph) => ph !== 'follower' && !(f.target.params && ph in f.target.params))) continue; // reported above
      const rendered = renderKubeName(template, f.id, f.target.params ?? {});
      const bad = label ? dnsLabelProblem(rendered) : dnsSubdomainProblem(rendered);
      if (bad) issues.push(at(['followers', i, 'target', 'params'], `${formatPath(yamlPath)} renders to "${rendered}" for this follower, which ${bad}`, 'set params that make a valid Kubernetes name'));
    }
  });
  return issues;
}

const renderKubeName = (template: string, follower: string, params: Record<string, string>): string => renderString(template, { ...params, follower }, (n) => `{${n}}`);

/** A path in the registry must stay inside the registry's directory and exist. */
function relativeFileProblem(dir: string, ref: string): { message: string; hint: string } | undefined {
  if (path.isAbsolute(ref) || ref.split(/[\\/]/).includes('..')) {
    return { message: `"${ref}" must be a path inside the registry's directory`, hint: 'write it relative to the registry file, without ".."' };
  }
  if (!existsSync(path.join(dir, ref))) return { message: `"${ref}" does not exist (looked in ${dir})`, hint: 'paths are relative to the registry file' };
  return undefined;
}

const TEMPLATE_KINDS: Record<KubeAdapterKind, { apiVersion: string; kind: string }> = {
  'tekton-pipelinerun': { apiVersion: 'tekton.dev/v1', kind: 'PipelineRun' },
  'kubernetes-job': { apiVersion: 'batch/v1', kind: 'Job' },
};

/** Reads each built-in adapter's object template; its problems point into the template file. */
function loadTemplates(reg: RegistryDocument, dir: string, at: Locate, issues: ConfigIssue[]): Map<string, Record<string, unknown>> {
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
    const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const issue = (p: (string | number)[], message: string, hint: string): ConfigIssue => {
      const node = p.length ? (doc.getIn(p, true) as Node | undefined) : (doc.contents as Node | null);
      const pos = node?.range ? lines.linePos(node.range[0]) : { line: 1, col: 1 };
      return { file, line: pos.line, column: pos.col, path: formatPath(p), message, hint };
    };
    if (doc.errors.length > 0) {
      const pos = lines.linePos(doc.errors[0]!.pos[0]);
      issues.push({ file, line: pos.line, column: pos.col, path: '', message: `YAML syntax: ${doc.errors[0]!.message.split('\n')[0]}`, hint: `adapters.${id}.template must hold one object` });
      continue;
    }
    const obj: unknown = doc.toJS();
    const want = TEMPLATE_KINDS[a.kind];
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      issues.push(issue([], 'expected one Kubernetes object', `a ${want.kind} with apiVersion ${want.apiVersion}`));
      continue;
    }
    const o = obj as { apiVersion?: unknown; kind?: unknown; metadata?: Record<string, unknown> };
    if (o.apiVersion !== want.apiVersion || o.kind !== want.kind) {
      issues.push(issue(['kind'], `expected apiVersion ${want.apiVersion} and kind ${want.kind}, found ${String(o.apiVersion)} ${String(o.kind)}`, `adapters.${id} is ${a.kind}`));
      continue;
    }
    for (const key of ['name', 'generateName', 'namespace'] as const) {
      if (o.metadata?.[key] !== undefined) {
        issues.push(issue(['metadata', key], `metadata.${key} is set by the follower`, key === 'namespace' ? `remove it: adapters.${id}.namespace decides` : 'remove it: each run is named by its trigger key <follower>-<sha>-<run>, so a retried trigger cannot create two'));
      }
    }
    const users = reg.followers.filter((f) => f.adapter === id);
    for (const { path: p, text } of stringsIn(obj)) {
      for (const ph of placeholders(text)) {
        if ((TEMPLATE_PLACEHOLDERS as readonly string[]).includes(ph)) continue;
        const lacking = users.filter((f) => !(f.target.params && ph in f.target.params)).map((f) => f.id);
        if (lacking.length) issues.push(issue(p, `{${ph}} is neither built in nor a param of ${lacking.join(', ')}`, `use {${TEMPLATE_PLACEHOLDERS.join('} {')}} or a key of target.params`));
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
