// Text for markdown viewers: the Temporal UI's current details. Every value put into our markdown
// is escaped so that it renders as the characters it holds and nothing else: no image, link,
// autolink, HTML, entity, emphasis, heading, list, quote or code span made from it, and no line
// break (a newline would end our list item and start markup of its own). Every ASCII punctuation
// character is written so that it stands for itself whatever its neighbours are: backslash-escaped
// where both CommonMark (spec §2.4) and the Temporal UI server's renderer take the backslash back,
// a character reference otherwise. Controls, bidi and invisible characters are shown escaped
// first, as on a terminal; long values are cut with a marker.
import { cut, visibleLine } from './characters.ts';

/** How much of one value the details show: enough for a failure message, not a whole log. */
export const MARKDOWN_VALUE_MAX = 300;

/** Markdown this program vouches for: its own markup, with every value put in escaped. */
export class MarkdownText {
  private constructor(readonly text: string) {}

  static ours(text: string): MarkdownText {
    return new MarkdownText(text);
  }

  toString(): string {
    return this.text;
  }
}

const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]/g;
/**
 * The punctuation both CommonMark and the Temporal UI server's renderer (blackfriday's set) take
 * back from a backslash. The rest, and `&` (which that renderer would then read as the start of an
 * entity), is written as a hexadecimal character reference, which both show as the character itself
 * and which the UI's "smart" typography (curly quotes, fractions) leaves alone.
 */
const BACKSLASH_ESCAPABLE = new Set('\\`*_{}[]()#+-.!:|<>~');
const escapePunctuation = (ch: string): string =>
  BACKSLASH_ESCAPABLE.has(ch) ? `\\${ch}` : `&#x${ch.charCodeAt(0).toString(16)};`;

/** `text` as markdown that renders as exactly its (escaped, cut) characters. */
export const markdownLiteral = (text: string, max = MARKDOWN_VALUE_MAX): string =>
  cut(visibleLine(text), max).replace(ASCII_PUNCTUATION, escapePunctuation);

/**
 * `text` in an inline code span: shown in a monospace box, for shas, ids and commands. The fence is
 * one backtick longer than the longest run inside, so no backtick in the value can close it.
 */
export function markdownCode(text: string, max = MARKDOWN_VALUE_MAX): string {
  const value = cut(visibleLine(text), max);
  const longest = Math.max(0, ...(value.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  // A space on each side lets a value that starts or ends with a backtick sit inside the fence.
  return longest ? `${fence} ${value} ${fence}` : `${fence}${value}${fence}`;
}

/** A line of our markdown with values put in: each value escaped unless it is already MarkdownText. */
export function mdLine(strings: TemplateStringsArray, ...values: unknown[]): MarkdownText {
  let text = strings[0]!;
  values.forEach(
    (v, i) => (text += (v instanceof MarkdownText ? v.text : markdownLiteral(String(v))) + strings[i + 1]!),
  );
  return MarkdownText.ours(text);
}

/** Inline code as MarkdownText, to put into `mdLine`. */
export const code = (text: string): MarkdownText => MarkdownText.ours(markdownCode(text));
