// How the operator CLI speaks: concise tables by default, full data with -o json|yaml, colour
// only on a terminal, and one-line errors with a hint and a documented exit code. What it writes
// is TerminalText (contract/untrusted/terminal.ts): text we did not write is shown escaped in
// tables and lines, and kept exact — in the format's own escapes — in JSON and YAML.
import { styleText } from 'node:util';
import YAML from 'yaml';
import { hasUnsafeCharacter, replaceUnsafe } from '../contract/untrusted/characters.ts';
import { readableJson } from '../contract/untrusted/json.ts';
import { forTerminal, TerminalText, tty } from '../contract/untrusted/terminal.ts';
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
    /** Lines under the message (an invalid registry's issues, one a line); the message is one line. */
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

/** The CLI's two streams. Only TerminalText is written: a raw string does not type-check here. */
export interface Io {
  out: (text: TerminalText) => void;
  err: (text: TerminalText) => void;
  color: boolean;
}

export const processIo = (): Io => ({
  out: (t) => process.stdout.write(`${t.text}\n`),
  err: (t) => process.stderr.write(`${t.text}\n`),
  color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
});

/** A table cell: a value (shown escaped, on one line) or TerminalText we styled. */
export type Cell = string | TerminalText;

/** Plain columns separated by three spaces, like kubectl: easy to read and to grep. */
export function table(headers: string[], rows: Cell[][]): TerminalText {
  const shown = (cells: Cell[]) => cells.map(forTerminal);
  const body = rows.map(shown);
  const widths = headers.map((h, i) => Math.max(h.length, ...body.map((r) => visible(r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i]! - visible(c).length)))
      .join('   ')
      .trimEnd();
  return TerminalText.ours([line(shown(headers)), ...body.map(line)].join('\n'));
}

/** A cell's width on screen: without the colour codes we put in (values have none left raw). */
const visible = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, '');

/**
 * YAML with every value exact: a string holding an unsafe character is written double-quoted,
 * where YAML's \u escapes stand for it (the yaml library leaves C1, bidi and zero-width ones raw).
 */
export function readableYaml(data: unknown): string {
  const doc = new YAML.Document(data);
  YAML.visit(doc, {
    Scalar(_, node) {
      if (typeof node.value === 'string' && hasUnsafeCharacter(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return replaceUnsafe(doc.toString(), (ch) => {
    // A raw line break is the document's own layout: in a double-quoted value the library wrote \n.
    if (ch === '\n') return ch;
    const cp = ch.codePointAt(0)!;
    return cp <= 0xffff ? `\\u${cp.toString(16).padStart(4, '0')}` : `\\U${cp.toString(16).padStart(8, '0')}`;
  });
}

export function emit(io: Io, format: Format, data: unknown, asTable: () => TerminalText): void {
  if (format === 'json') io.out(TerminalText.ours(readableJson(data, 2)));
  else if (format === 'yaml') io.out(TerminalText.ours(readableYaml(data).trimEnd()));
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

/** A phase, coloured on a terminal. */
export function phase(io: Io, p: string): TerminalText {
  const style = PHASE_STYLE[p as Phase];
  const shown = tty`${p}`;
  return io.color && style ? TerminalText.ours(styleText(style, shown.text)) : shown;
}

/** Dimmed on a terminal; values in `s` are escaped first. */
export const dim = (io: Io, s: string | TerminalText): TerminalText => {
  const shown = tty`${s}`;
  return io.color ? TerminalText.ours(styleText('dim', shown.text)) : shown;
};
export const when = (ms: number | undefined): string =>
  ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) + 'Z' : '-';
