// Text for a terminal. What this program writes is `TerminalText`; anything else that reaches a
// terminal — a commit's or an adapter's words, a webhook's ref, an operator's reason, a sink's
// answer — passes through `tty` or a table cell, which show every control, bidi and invisible
// character escaped (`\x1b`, `\u202e`) and every line break as `\n`, so untrusted text can neither
// steer the terminal nor start a row of its own. The CLI's writers accept only TerminalText: a raw
// string does not type-check there.
import { replaceUnsafe, visibleEscape, visibleLine } from './characters.ts';

/** Text this program vouches for on a terminal: its own words and colours, with untrusted parts escaped. */
export class TerminalText {
  private constructor(readonly text: string) {}

  /** Our own text as it stands: help, tables we laid out, colour codes we chose. Never for text we did not write. */
  static ours(text: string): TerminalText {
    return new TerminalText(text);
  }

  toString(): string {
    return this.text;
  }
}

/** A value as a terminal shows it: TerminalText as it is, anything else escaped onto one line. */
export const forTerminal = (value: unknown): string =>
  value instanceof TerminalText ? value.text : visibleLine(String(value));

/**
 * A line of our words with values put in: `tty\`paused ${id}: ${reason}\``. The template's own
 * text is ours; each value is shown escaped unless it is already TerminalText.
 */
export function tty(strings: TemplateStringsArray, ...values: unknown[]): TerminalText {
  let text = strings[0]!;
  values.forEach((v, i) => (text += forTerminal(v) + strings[i + 1]!));
  return TerminalText.ours(text);
}

/** Lines joined by newlines, each already TerminalText. */
export const ttyLines = (lines: readonly TerminalText[]): TerminalText =>
  TerminalText.ours(lines.map((l) => l.text).join('\n'));

/**
 * A program's own output relayed line by line, as `kubectl logs` relays a container's: line breaks
 * and tabs kept, every other control escaped — so a job's output cannot clear the screen, set the
 * title or hide a link, but its lines stay lines. (`logs --raw` passes colours through instead.)
 */
export const relayedOutput = (text: string): TerminalText =>
  TerminalText.ours(
    replaceUnsafe(text.replace(/\r\n/g, '\n'), (ch) => (ch === '\n' || ch === '\t' ? ch : visibleEscape(ch))),
  );
