// Starts `temporal server start-dev` and waits until it answers. We start it ourselves (rather
// than through the SDK) so a slow first start has the time it needs, and so the follower
// search attributes are registered from the start.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../contract/messages.ts';
import type { Log } from './tools.ts';

export interface DevServerOptions {
  cli: string;
  host: string;
  port: number;
  /** Omit for a headless server. */
  uiPort?: number;
  /** SQLite file for history; omit to keep it in memory (the benchmarks: no disk in the figures). */
  dbFile?: string;
  namespace: string;
  startTimeoutMs: number;
  log: Log;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startDevServer(o: DevServerOptions): Promise<DevServer> {
  if (o.dbFile) mkdirSync(path.dirname(o.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    o.host,
    '--port',
    String(o.port),
    ...(o.dbFile ? ['--db-filename', o.dbFile] : []),
    '--namespace',
    o.namespace,
    '--log-level',
    'error',
    ...SEARCH_ATTRIBUTES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
    ...(o.uiPort ? ['--ui-port', String(o.uiPort)] : ['--headless']),
  ];
  // Both streams are kept: the CLI prints some reasons it cannot start (a port in use) on stdout.
  const child = spawn(o.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (c: Buffer) => (output = (output + c.toString()).slice(-4000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const address = `${o.host}:${o.port}`;
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

  const deadline = Date.now() + o.startTimeoutMs;
  let lastNote = Date.now();
  for (;;) {
    const early = await Promise.race([exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 250))]);
    if (early !== 'running') {
      throw new Error(`temporal server start-dev exited with ${early} before it was ready:\n${output.trim()}`);
    }
    if (await answers(address, o.namespace)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(
        `temporal dev server at ${address} was not ready within ${o.startTimeoutMs}ms:\n${output.trim()}`,
      );
    }
    if (Date.now() - lastNote > 5000) {
      o.log(`  … waiting for the Temporal dev server at ${address}`);
      lastNote = Date.now();
    }
  }
  return {
    address,
    uiUrl: o.uiPort ? `http://${o.host}:${o.uiPort}` : undefined,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** True when a Temporal frontend at `address` serves `namespace`. */
export async function answers(address: string, namespace: string): Promise<boolean> {
  let conn: Connection | undefined;
  try {
    conn = await Connection.connect({ address, connectTimeout: 1000 });
    await conn.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await conn?.close();
  }
}
