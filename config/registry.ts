// Loads config/cicd-branch-followers.yaml into resolved FollowerSpecs. Every problem is
// reported with file:line:column, its YAML path and a hint; a registry with any problem
// yields no specs at all, so nothing is ever half-applied.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { AdapterSpec, FollowerSpec, ValueSource } from '../workflows/api.ts';
import { parseDuration } from './duration.ts';
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
  controller: RegistryDocument['controller'];
  followers: { spec: FollowerSpec; enabled: boolean }[];
}

/** Placeholders every adapter command may use; target params add their own names. */
const BUILTIN_PLACEHOLDERS = ['sha', 'branch', 'follower', 'configRef'] as const;
const JOB_PLACEHOLDER = 'jobId';

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
  if (issues.length > 0) throw new ConfigError(issues);

  const source = (p: (string | number)[]): ValueSource => {
    const i = at(p, '', '');
    return { path: formatPath(p), file, line: i.line };
  };

  const followers = reg.followers.map((f, index) => {
    const a = reg.adapters[f.adapter]!;
    const d = reg.defaults;
    const budgetPath = f.closeout.budget ? ['followers', index, 'closeout', 'budget'] : ['defaults', 'closeout', 'budget'];
    const adapter: AdapterSpec = {
      id: f.adapter,
      kind: a.kind,
      timeoutMs: parseDuration(a.timeout ?? d.adapter.timeout),
      maxOutputBytes: a.maxOutputBytes ?? d.adapter.maxOutputBytes,
      env: a.env ?? [],
      status: a.status,
      trigger: a.trigger,
      ...(a.cancel ? { cancel: a.cancel } : {}),
      ...(a.logs ? { logs: a.logs } : {}),
    };
    const retry = { ...d.retry, ...f.retry };
    const spec: FollowerSpec = {
      id: f.id,
      source: { mirror: f.source.mirror, branch: f.source.branch },
      target: { configRef: f.target.configRef, params: f.target.params ?? {} },
      adapter,
      pollIntervalMs: parseDuration(f.pollInterval ?? d.pollInterval),
      observeTimeoutMs: parseDuration(d.observe.timeout),
      closeout: {
        check: f.closeout.check,
        kind: a.checks[f.closeout.check]!.kind,
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
      registry: file,
    };
    return { spec, enabled: f.enabled };
  });

  return { file, dir, controller: reg.controller, followers };
}

type Locate = (p: (string | number)[], message: string, hint: string, keyOfLast?: boolean) => ConfigIssue;

function crossCheck(reg: RegistryDocument, dir: string, at: Locate): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Map<string, number>();
  const adapterIds = Object.keys(reg.adapters);

  for (const [id, a] of Object.entries(reg.adapters)) {
    for (const op of ['status', 'trigger', 'cancel', 'logs'] as const) {
      const argv = a[op]?.argv ?? [];
      argv.forEach((arg, i) => {
        if (i === 0 && arg.includes('{')) issues.push(at(['adapters', id, op, 'argv', 0], 'the program (argv[0]) cannot hold a placeholder', 'name the program literally'));
        for (const ph of placeholders(arg)) {
          if (ph === JOB_PLACEHOLDER && (op === 'cancel' || op === 'logs')) continue;
          if ((BUILTIN_PLACEHOLDERS as readonly string[]).includes(ph)) continue;
          // Any other name must be a target param of every follower that uses this adapter.
          reg.followers.forEach((f, fi) => {
            if (f.adapter === id && !(f.target.params && ph in f.target.params)) {
              issues.push(at(['followers', fi, 'target', 'params'], `adapter ${id} ${op} uses {${ph}}, which this follower does not set`, `add "${ph}:" under target.params, or use one of {${[...BUILTIN_PLACEHOLDERS, ...(op === 'cancel' || op === 'logs' ? [JOB_PLACEHOLDER] : [])].join('} {')}}`));
            }
          });
        }
      });
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
    const ref = f.target.configRef;
    if (path.isAbsolute(ref) || ref.split(/[\\/]/).includes('..')) {
      issues.push(at(['followers', i, 'target', 'configRef'], `configRef "${ref}" must be a path inside the registry's directory`, 'write it relative to the registry file, without ".."'));
    } else if (!existsSync(path.join(dir, ref))) {
      issues.push(at(['followers', i, 'target', 'configRef'], `configRef "${ref}" does not exist (looked in ${dir})`, 'configRef paths are relative to the registry file'));
    }
  });
  return issues;
}

function placeholders(arg: string): string[] {
  return [...arg.matchAll(/\{([^{}]*)\}/g)].map((m) => m[1]!);
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
