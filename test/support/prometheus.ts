// A real Prometheus server for a test: it scrapes the given targets (job `branch-follower`) into
// a TSDB inside the test's directory and answers PromQL over its HTTP API.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { freePort } from '../../scripts/git-mirror.ts';
import { until } from './kube-cluster.ts';

export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface PrometheusServer {
  url: string;
  /** An instant query; fails on anything but a success with an instant vector. */
  query(expr: string): Promise<Sample[]>;
  /** Polls `expr` until it returns a series; on timeout, fails with each target's scrape health. */
  waitForSeries(expr: string, timeoutMs?: number): Promise<Sample[]>;
  stop(): Promise<void>;
}

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

export async function startPrometheus(opts: {
  bin: string;
  dir: string;
  /** host:port of each /metrics endpoint. */
  targets: string[];
  scrapeIntervalMs?: number;
}): Promise<PrometheusServer> {
  const interval = `${opts.scrapeIntervalMs ?? 1000}ms`;
  const config = path.join(opts.dir, 'prometheus.yml');
  writeFileSync(
    config,
    YAML.stringify({
      global: { scrape_interval: interval, evaluation_interval: interval },
      scrape_configs: [{ job_name: 'branch-follower', static_configs: [{ targets: opts.targets }] }],
    }),
  );
  const listen = `127.0.0.1:${await freePort()}`;
  const url = `http://${listen}`;
  const child = spawn(
    opts.bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(opts.dir, 'tsdb')}`,
      `--web.listen-address=${listen}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  // 'close' comes after the last of stderr, so a failure can quote all of it.
  let closed = false;
  const close = new Promise<void>((resolve) =>
    child.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  const stop = async (): Promise<void> => {
    if (!closed) child.kill('SIGTERM');
    await close;
  };

  const api = async <T>(p: string, params?: Record<string, string>): Promise<ApiAnswer<T>> => {
    const res = await fetch(`${url}${p}`, params && { method: 'POST', body: new URLSearchParams(params) });
    const text = await res.text();
    try {
      return JSON.parse(text) as ApiAnswer<T>;
    } catch {
      throw new Error(`Prometheus answered ${p} with ${res.status}: ${text.slice(0, 500)}`);
    }
  };
  const query = async (expr: string): Promise<Sample[]> => {
    const answer = await api<{
      resultType: string;
      result: { metric: Record<string, string>; value: [number, string] }[];
    }>('/api/v1/query', { query: expr });
    if (answer.status !== 'success') throw new Error(`query ${expr} failed: ${answer.errorType}: ${answer.error}`);
    if (answer.data.resultType !== 'vector')
      throw new Error(`query ${expr} gave a ${answer.data.resultType}, not an instant vector`);
    return answer.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };

  try {
    await until(
      async () => closed || (await fetch(`${url}/-/ready`)).ok,
      60_000,
      () => `Prometheus (${opts.bin}) did not become ready at ${url} within 60 s; its log:\n${stderr.trim()}`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  if (closed)
    throw new Error(
      `Prometheus (${opts.bin}) exited (${child.exitCode ?? child.signalCode}) before it was ready; its log:\n${stderr.trim()}`,
    );

  return {
    url,
    query,
    async waitForSeries(expr, timeoutMs = 30_000) {
      let found: Sample[] = [];
      let lastError = '';
      const check = async (): Promise<boolean> => {
        found = await query(expr).catch((err: Error) => {
          lastError = err.message;
          return [];
        });
        return found.length > 0;
      };
      await until(
        check,
        timeoutMs,
        () => `no series for ${expr} within ${timeoutMs} ms${lastError && ` (${lastError})`}`,
      ).catch(async (err: Error) => {
        const { data } = await api<{ activeTargets: { scrapeUrl: string; health: string; lastError: string }[] }>(
          '/api/v1/targets',
        );
        const health = data.activeTargets.map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`.trim());
        throw new Error(`${err.message}; scrape targets: ${health.join('; ') || 'none'}`);
      });
      return found;
    },
    stop,
  };
}
