// Runs one external command the safe way: argv only (never a shell), an explicit environment,
// its own process group so a timeout or a cancellation kills it with all its children, and
// capped output so a runaway command cannot exhaust the worker's memory. The group's leader is
// coreutils `timeout`, so the command dies on time even when the worker itself is SIGKILLed.
import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

export interface RunOptions {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  maxOutputBytes: number;
  signal?: AbortSignal;
  /** Values that must never leave this process (secrets passed in env): replaced in output. */
  redact?: { name: string; value: string }[];
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  truncated: boolean;
  durationMs: number;
}

export class SpawnError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The coreutils `timeout` that bounds every command (`gtimeout` where coreutils come prefixed), or an error saying how to get it. */
export function timeoutProgram(envPath = process.env.PATH ?? ''): string {
  for (const name of ['timeout', 'gtimeout']) {
    const found = (timeoutFound[`${name}:${envPath}`] ??= lookPath(name, envPath));
    if (found) return found;
  }
  throw new SpawnError(
    'ENOENT',
    'coreutils `timeout` is not on PATH: adapter commands run under it so they die on their timeout even if the worker is killed; install coreutils',
  );
}

const timeoutFound: Record<string, string | undefined> = {};

function lookPath(program: string, envPath: string, cwd = process.cwd()): string | undefined {
  const candidates = program.includes('/')
    ? [path.resolve(cwd, program)]
    : envPath
        .split(path.delimiter)
        .filter(Boolean)
        .map((d) => path.join(d, program));
  for (const candidate of candidates) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The program as `timeout` will exec it; checked here, so "not found" and "not executable" are told apart from the command's own exit codes. */
function resolveProgram(program: string, opts: RunOptions): string {
  const found = lookPath(program, opts.env.PATH ?? '', opts.cwd);
  if (!found) throw new SpawnError('ENOENT', `cannot run ${program}: not found`);
  try {
    accessSync(found, constants.X_OK);
  } catch {
    throw new SpawnError('EACCES', `cannot run ${program}: not executable`);
  }
  return found;
}

export function runCommand(opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const [program, ...args] = opts.argv;
  if (!program) return Promise.reject(new SpawnError('EINVAL', 'empty argv'));
  let bounded: string[];
  try {
    bounded = [
      timeoutProgram(),
      '--signal=KILL',
      `${(opts.timeoutMs / 1000).toFixed(3)}s`,
      resolveProgram(program, opts),
      ...args,
    ];
  } catch (err) {
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const child = spawn(bounded[0]!, bounded.slice(1), {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // a process group of its own, so killing -pid reaches grandchildren
      shell: false,
    });
    const out = new CappedBuffer(opts.maxOutputBytes);
    const err = new CappedBuffer(opts.maxOutputBytes);
    let timedOut = false;
    let aborted = false;
    let settled = false;

    const killGroup = (): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      killGroup();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(
        new SpawnError(
          e.code ?? 'ESPAWN',
          `cannot run ${bounded[0]}: ${e.code === 'ENOENT' ? 'not found' : e.code === 'EACCES' ? 'not executable' : e.message}`,
        ),
      );
    });
    child.on('close', (exitCode, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // The leader exited; make sure nothing it started lingers.
      killGroup();
      // `timeout` killed the group at the same deadline as our timer: either way it timed out.
      if (signal === 'SIGKILL' && !aborted && Date.now() - started >= opts.timeoutMs) timedOut = true;
      const clean = (b: CappedBuffer): string => redact(b.text(), opts.redact ?? [], b.truncated);
      resolve({
        exitCode,
        signal,
        stdout: clean(out),
        stderr: clean(err),
        timedOut,
        aborted,
        truncated: out.truncated || err.truncated,
        durationMs: Date.now() - started,
      });
    });
  });
}

class CappedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    const room = this.cap - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.size += part.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

/** Replaces every secret value; in `truncated` output also a value cut off at the end (its first bytes). */
export function redact(text: string, secrets: { name: string; value: string }[], truncated = false): string {
  let result = text;
  for (const { name, value } of secrets) {
    if (value.length > 0) result = result.split(value).join(`[redacted:${name}]`);
  }
  if (!truncated) return result;
  for (const { name, value } of secrets) {
    for (let k = value.length - 1; k > 0; k--) {
      if (result.endsWith(value.slice(0, k))) {
        result = `${result.slice(0, -k)}[redacted:${name}, cut]`;
        break;
      }
    }
  }
  return result;
}

/** The last lines of a command's output, for an error message. */
export function tail(text: string, maxChars = 400): string {
  const t = text.trim();
  return t.length <= maxChars ? t : `…${t.slice(-maxChars)}`;
}
