// The shipped monitoring (deploy/monitoring/), with the real promtool from global setup: the rules
// pass `promtool check rules` and their own unit tests, each alert is tested firing and not
// firing, every dashboard query is PromQL that Prometheus parses, and every metric the rules and
// the dashboard read is one contract/metrics.ts defines, so a renamed metric fails here and not
// on a dashboard. Also the Prometheus harness (test/support/prometheus.ts), on real servers.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import YAML from 'yaml';
import { METRICS } from '../../contract/metrics.ts';
import { freePort } from '../../scripts/git-mirror.ts';
import { startPrometheus, type PrometheusServer } from '../support/prometheus.ts';
import { tempDir } from '../support/temp-dir.ts';

const MONITORING = path.resolve(import.meta.dirname, '../../deploy/monitoring');
const ALERTS = path.join(MONITORING, 'alerts.yaml');
const ALERT_TESTS = path.join(MONITORING, 'alerts.test.yaml');
const DASHBOARD = path.join(MONITORING, 'dashboard.json');

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTests {
  tests: {
    name: string;
    promql_expr_test?: { expr: string }[];
    alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[];
  }[];
}
interface Panel {
  id: number;
  title: string;
  datasource: { type: string; uid: string };
  targets: { expr: string; datasource: { type: string; uid: string } }[];
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: string | { query: string } }[] };
}

const rules = (YAML.parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const ruleTests = (YAML.parse(readFileSync(ALERT_TESTS, 'utf8')) as RuleTests).tests;
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const variable = (name: string) => dashboard.templating.list.find((v) => v.name === name);

/** The follower variable's query is Grafana's `label_values(<series>, <label>)`, not PromQL. */
const LABEL_VALUES = /^label_values\((.+), *(\w+)\)$/;
const followerQuery = (): { series: string; label: string } => {
  const v = variable('follower')!;
  const [, series, label] = LABEL_VALUES.exec(typeof v.query === 'string' ? v.query : v.query.query) ?? [];
  return { series: series!, label: label! };
};
/** Every PromQL query on the dashboard, as written (Grafana variables and all). */
const dashboardQueries = (): string[] => [
  ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
  followerQuery().series,
];

/** What Grafana puts in for the variables the queries use: its built-ins, and every follower. */
const GRAFANA_VARIABLES: Record<string, string> = { __rate_interval: '1m', __range: '6h', follower: '.*' };
const asPromql = (query: string): string =>
  query.replace(/\$\{?(\w+)\}?/g, (_, name: string) => {
    if (!(name in GRAFANA_VARIABLES)) throw new Error(`${query}: Grafana has no value for $${name} here`);
    return GRAFANA_VARIABLES[name]!;
  });

function promtool(...args: string[]): string {
  const run = spawnSync(inject('prometheus').promtool, args, { encoding: 'utf8' });
  const output = `${run.stdout}${run.stderr}`;
  if (run.status !== 0) throw new Error(`promtool ${args.join(' ')} exited ${run.status}:\n${output}`);
  return output;
}

/** The series names a query reads, among ours (recording rules included). */
const ourNames = (expr: string): string[] =>
  (expr.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []).filter((n) => n.includes('branch_follower_'));

describe('deploy/monitoring/alerts.yaml', () => {
  it('passes promtool check rules, lint included', () => {
    expect(promtool('check', 'rules', '--lint=all', '--lint-fatal', ALERTS)).toContain(
      `SUCCESS: ${rules.length} rules found`,
    );
  });

  it('passes its unit tests (promtool test rules alerts.test.yaml)', () => {
    expect(promtool('test', 'rules', ALERT_TESTS)).toContain('SUCCESS');
  });

  it('each alert is tested firing and not firing, and each recording rule is queried', () => {
    const cases = ruleTests.flatMap((t) => t.alert_rule_test ?? []);
    for (const { alert } of rules.filter((r) => r.alert)) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert} has a test where it fires`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert} has a test where it does not fire`,
      ).toBe(true);
    }
    const queried = ruleTests.flatMap((t) => (t.promql_expr_test ?? []).map((q) => q.expr));
    for (const { record } of rules.filter((r) => r.record)) expect(queried, record).toContain(record);
  });

  it('each alert has a severity, a summary naming what it is about and a description that points at the docs', () => {
    for (const r of rules.filter((r) => r.alert)) {
      expect(['critical', 'warning'], r.alert).toContain(r.labels?.severity);
      // A follower, or for the fleet's alerts the task queue or the sink.
      expect(r.annotations?.summary, r.alert).toMatch(/\{\{ \$labels\.(follower|task_queue|sink) \}\}/);
      expect(r.annotations?.description, r.alert).toMatch(/docs\/(codes|operations)\.md/);
    }
  });
});

describe('deploy/monitoring/dashboard.json', () => {
  it('every query parses as PromQL (each one a recording rule for promtool)', () => {
    const queries = dashboardQueries();
    const file = path.join(tempDir('bf-dashboard-'), 'queries.yaml');
    writeFileSync(
      file,
      YAML.stringify({
        groups: [
          { name: 'dashboard', rules: queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: asPromql(q) })) },
        ],
      }),
    );
    expect(promtool('check', 'rules', file)).toContain(`SUCCESS: ${queries.length} rules found`);
  });

  it('is a Grafana dashboard on a Prometheus data source variable, filtered by follower', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(39);
    expect(variable('datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    const { series, label } = followerQuery();
    expect(Object.keys(METRICS)).toContain(series);
    expect(METRICS[series as keyof typeof METRICS].labels).toContain(label);
    const ds = { type: 'prometheus', uid: '${datasource}' };
    for (const p of dashboard.panels) {
      expect(p.datasource, p.title).toEqual(ds);
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.datasource, p.title).toEqual(ds);
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });
});

describe('metric names', () => {
  const recorded = rules.flatMap((r) => (r.record ? [r.record] : []));
  const known = new Set([
    ...Object.entries(METRICS).flatMap(([name, def]) =>
      def.kind === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
    ),
    ...recorded,
  ]);

  it('the rules and the dashboard read only series contract/metrics.ts defines (or the rules record)', () => {
    const unknown = [...rules.map((r) => r.expr), ...dashboardQueries()].flatMap(ourNames).filter((n) => !known.has(n));
    expect(unknown).toEqual([]);
  });

  it('every metric is on the dashboard', () => {
    const shown = new Set(dashboardQueries().flatMap(ourNames));
    const missing = Object.entries(METRICS).filter(
      ([name, def]) => !shown.has(def.kind === 'histogram' ? `${name}_bucket` : name),
    );
    expect(missing.map(([name]) => name)).toEqual([]);
  });
});

describe('test/support/prometheus.ts', () => {
  // Prometheus serves its own /metrics: one server is the other's scrape target, next to a port
  // nothing listens on.
  let target: PrometheusServer;
  let scraper: PrometheusServer;
  let targetHost: string;
  let closedHost: string;
  beforeAll(async () => {
    const bin = inject('prometheus').prometheus;
    target = await startPrometheus({ bin, dir: tempDir('bf-prom-'), targets: [] });
    targetHost = new URL(target.url).host;
    closedHost = `127.0.0.1:${await freePort()}`;
    scraper = await startPrometheus({ bin, dir: tempDir('bf-prom-'), targets: [targetHost, closedHost] });
  });
  afterAll(async () => {
    await scraper?.stop();
    await target?.stop();
  });

  it('scrapes its targets as job branch-follower and answers instant queries', async () => {
    expect(await scraper.waitForSeries('up == 1')).toEqual([
      { metric: { __name__: 'up', instance: targetHost, job: 'branch-follower' }, value: 1 },
    ]);
    expect((await scraper.waitForSeries('up == 0')).map((s) => s.metric.instance)).toEqual([closedHost]);
    const [info] = await scraper.query('prometheus_build_info');
    expect(info).toMatchObject({ metric: { instance: targetHost, job: 'branch-follower' }, value: 1 });
  });

  it('a query Prometheus refuses fails with its error; a scalar is not a vector', async () => {
    await expect(scraper.query('sum(up')).rejects.toThrow(/query sum\(up failed: bad_data: .*unclosed/);
    await expect(scraper.query('1')).rejects.toThrow('gave a scalar, not an instant vector');
  });

  it('a series that never comes fails with the scrape health of each target', async () => {
    await scraper.waitForSeries(`up{instance="${closedHost}"} == 0`);
    await expect(scraper.waitForSeries(`up{instance="${closedHost}"} == 1`, 1000)).rejects.toThrow(
      new RegExp(`no series for .* within 1000 ms; scrape targets: .*${closedHost}/metrics down .*connection refused`),
    );
  });

  it('a server that cannot start fails with its own log', async () => {
    await expect(
      startPrometheus({
        bin: inject('prometheus').prometheus,
        dir: tempDir('bf-prom-'),
        targets: ['http://127.0.0.1:9464/metrics'],
      }),
    ).rejects.toThrow(/exited \(2\) before it was ready; its log:\n.*is not a valid hostname/);
  });
});
