// `npm run docs`: the documentation rendered from the one place each fact lives — the reason
// codes (contract/codes.ts → docs/codes.md), the registry's limits (config/limits.ts → the
// "Limits" section of docs/registry.md), the built-in Kubernetes kinds (contract/kube-kinds/ →
// their table in docs/adapters.md), the metrics (contract/metrics.ts → their table in
// docs/metrics.md) and the registry's JSON Schema, for editors (config/schema.ts →
// docs/registry.schema.json). test/unit/docs.test.ts fails when any is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { registrySchema } from '../config/schema.ts';
import { CODES } from '../contract/codes.ts';
import { apiGroupOf, KUBE_KINDS } from '../contract/kube-kinds/index.ts';
import { METRICS, WEBHOOK_RESULTS, type MetricDef } from '../contract/metrics.ts';
import { formatLimit } from '../config/duration.ts';
import { DURATION_LIMITS, NUMBER_LIMITS } from '../config/limits.ts';
import { MAX_ALIAS_COUNT, MAX_NESTING, MAX_REGISTRY_BYTES } from '../config/yaml-guard.ts';

export const CODES_DOC = fileURLToPath(new URL('../docs/codes.md', import.meta.url));
export const REGISTRY_DOC = fileURLToPath(new URL('../docs/registry.md', import.meta.url));
export const REGISTRY_SCHEMA = fileURLToPath(new URL('../docs/registry.schema.json', import.meta.url));
export const ADAPTERS_DOC = fileURLToPath(new URL('../docs/adapters.md', import.meta.url));
export const METRICS_DOC = fileURLToPath(new URL('../docs/metrics.md', import.meta.url));

/** Replaces what lies between `<!-- name:begin -->` and `<!-- name:end -->` in a document. */
function between(name: string, doc: string, body: string[]): string {
  const [begin, end] = [`<!-- ${name}:begin -->`, `<!-- ${name}:end -->`];
  const at = doc.indexOf(begin);
  const until = doc.indexOf(end, at);
  if (at < 0 || until < 0) throw new Error(`the document has no ${begin} … ${end} section`);
  return `${doc.slice(0, at)}${[begin, ...body, end].join('\n')}${doc.slice(until + end.length)}`;
}

export function renderCodesDoc(): string {
  const rows = Object.entries(CODES).map(
    ([code, { phase, meaning }]) => `| \`${code}\` | ${phase ?? 'event'} | ${meaning} |`,
  );
  return [
    '# Reason codes',
    '',
    'Every phase, transition, failure and event a follower reports carries one of these codes and a',
    'human message. Decide on the code (`FollowerPhase` and the `code` of `state`, `events` and the',
    'state ConfigMap entry); the message only explains. Generated from',
    '[`contract/codes.ts`](../contract/codes.ts) by `npm run docs`.',
    '',
    '| code | phase | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** The limits section of docs/registry.md, between its markers. */
export function renderLimits(): string[] {
  return [
    '| value | accepted range | applies to |',
    '|---|---|---|',
    ...Object.entries(DURATION_LIMITS).map(
      ([kind, l]) => `| ${kind} | ${formatLimit(l.min)} – ${formatLimit(l.max)} | ${l.applies} |`,
    ),
    ...Object.entries(NUMBER_LIMITS).map(([kind, l]) => `| ${kind} | ${l.min} – ${l.max} | ${l.applies} |`),
    `| the registry file | at most ${MAX_REGISTRY_BYTES} bytes, nested at most ${MAX_NESTING} levels, at most ${MAX_ALIAS_COUNT} alias expansions | the whole file |`,
  ];
}

export const withLimits = (doc: string): string => between('limits', doc, renderLimits());

/** One row per built-in Kubernetes kind, from its descriptor. */
export function renderKubeKinds(): string[] {
  const superseded = (k: (typeof KUBE_KINDS)[number]): string =>
    k.cancel.by === 'delete'
      ? `deleted with its pods (${k.cancel.propagation.toLowerCase()} propagation)`
      : `merge-patched with \`${JSON.stringify(k.cancel.patch)}\``;
  return [
    "| adapter and check `kind` | creates per trigger | closes out when | a superseded run is | `logs` reads the pods labelled | the worker may, in the adapter's namespace |",
    '|---|---|---|---|---|---|',
    ...KUBE_KINDS.map(
      (k) =>
        `| \`${k.name}\` | \`${k.apiVersion}\` ${k.kind} | ${k.closesOutWhen} | ${superseded(k)} | \`${k.podLabel}=<name>\` | ${k.rbac.verbs.map((v) => `\`${v}\``).join(', ')} \`${k.rbac.resource}${apiGroupOf(k.apiVersion) ? `.${apiGroupOf(k.apiVersion)}` : ''}\` |`,
    ),
  ];
}

export const withKubeKinds = (doc: string): string => between('kube-kinds', doc, renderKubeKinds());

/** One row per metric a worker exports, from contract/metrics.ts, and the receiver's `result` values. */
export function renderMetrics(): string[] {
  const rows = (Object.entries(METRICS) as [string, MetricDef][]).map(
    ([name, m]) =>
      `| \`${name}\` | ${m.kind} | ${m.labels.map((l) => `\`${l}\``).join(', ')} | ${m.help}${m.buckets ? ` Buckets: ${m.buckets.join(', ')}.` : ''} |`,
  );
  return [
    '| metric | kind | labels | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
    `The receiver's \`result\` values: ${WEBHOOK_RESULTS.map((r) => `\`${r}\``).join(', ')}.`,
  ];
}

export const withMetrics = (doc: string): string => between('metrics', doc, renderMetrics());

/**
 * The registry as JSON Schema, for editors (a `yaml-language-server` modeline points at it): the
 * keys, types and patterns. What only code can say (a duration's range, a branch name git would
 * refuse, a path outside the registry's directory) is the loader's; it stays the authority.
 */
export function renderRegistrySchema(): string {
  const schema = z.toJSONSchema(registrySchema, { io: 'input', unrepresentable: 'any' });
  return `${JSON.stringify({ ...schema, title: 'branch-follower registry', description: 'Generated from config/schema.ts by `npm run docs`; reference: docs/registry.md' }, null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CODES_DOC, renderCodesDoc());
  writeFileSync(REGISTRY_DOC, withLimits(readFileSync(REGISTRY_DOC, 'utf8')));
  writeFileSync(ADAPTERS_DOC, withKubeKinds(readFileSync(ADAPTERS_DOC, 'utf8')));
  writeFileSync(METRICS_DOC, withMetrics(readFileSync(METRICS_DOC, 'utf8')));
  writeFileSync(REGISTRY_SCHEMA, renderRegistrySchema());
  console.log(
    `wrote ${CODES_DOC}, the limits of ${REGISTRY_DOC}, the kinds table of ${ADAPTERS_DOC}, the metrics table of ${METRICS_DOC} and ${REGISTRY_SCHEMA}`,
  );
}
