// How the operator CLI speaks: concise tables by default, full data with -o json|yaml, colour
// only on a terminal, and one-line errors with a hint and a documented exit code.
import { styleText } from 'node:util';
import YAML from 'yaml';
import type { Phase } from '../contract/state.ts';

/** `wide` is a table with more columns where a command has them (`status`), else the table. */
export type Format = 'table' | 'wide' | 'json' | 'yaml';

/** Exit codes (documented in docs/cli.md). */
export const Exit = {
  Ok: 0,
  /** wait: the sha Failed; run-once/apply: something is Blocked or failed. */
  Failed: 1,
  /** Bad usage or an invalid registry. */
  Usage: 2,
  /** Temporal cannot be reached. */
  Unreachable: 3,
  /** No such follower (in the registry or running). */
  NotFound: 4,
  /** apply without --confirm while changes are pending. */
  PendingChanges: 5,
  /** wait: the sha was superseded. */
  Superseded: 6,
  /** wait: timed out. */
  Timeout: 7,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly hint: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  color: boolean;
}

export const processIo = (): Io => ({
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
});

/** Plain columns separated by three spaces, like kubectl: easy to read and to grep. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visible(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visible(c).length)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

const visible = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

export function emit(io: Io, format: Format, data: unknown, asTable: () => string): void {
  if (format === 'json') io.out(JSON.stringify(data, null, 2));
  else if (format === 'yaml') io.out(YAML.stringify(data).trimEnd());
  else io.out(asTable());
}

const PHASE_STYLE: Partial<Record<Phase, Parameters<typeof styleText>[0]>> = {
  Succeeded: 'green',
  Failed: 'red',
  Blocked: 'yellow',
  Superseded: 'magenta',
  Triggering: 'cyan',
  ClosingOut: 'cyan',
  PendingTrigger: 'cyan',
};

export function phase(io: Io, p: string): string {
  const style = PHASE_STYLE[p as Phase];
  return io.color && style ? styleText(style, p) : p;
}

export const dim = (io: Io, s: string): string => (io.color ? styleText('dim', s) : s);
export const when = (ms: number | undefined): string =>
  ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '-';
