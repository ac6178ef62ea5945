// The characters that change what a reader sees without being seen, or that a terminal obeys
// instead of showing: the one definition every renderer of untrusted text (terminal, markdown,
// chat, JSON and YAML output) escapes. Built on the Unicode properties the JavaScript engine knows,
// so new format characters are covered as the runtime's Unicode version moves, with no list of
// ours to go stale.

/**
 * C0 and C1 controls and DEL (`Cc`: ESC, CSI U+009B, NEL, line breaks), format characters (`Cf`:
 * bidi embeddings, overrides and isolates, zero-width space/joiners, word joiner, BOM, soft
 * hyphen, Unicode tags), line and paragraph separators (`Zl`, `Zp`), lone surrogates (`Cs`), the
 * Hangul fillers that render as blank letters, and the supplementary variation selectors (no
 * visible use in the text we show; a channel for hidden payloads).
 */
export const UNSAFE_CHARACTER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u115f\u1160\u3164\uffa0\u{e0100}-\u{e01ef}]/u;
const UNSAFE_GLOBAL = new RegExp(UNSAFE_CHARACTER.source, 'gu');

/** Whether `text` holds a character a reader cannot see or a terminal would obey. */
export const hasUnsafeCharacter = (text: string): boolean => UNSAFE_CHARACTER.test(text);

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** The escape a reader sees for one unsafe character: `\n`, `\x1b`, `\u202e`, `\u{e0041}`. */
export function visibleEscape(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return (
    NAMED[ch] ??
    (cp < 0x100
      ? `\\x${cp.toString(16).padStart(2, '0')}`
      : cp <= 0xffff
        ? `\\u${cp.toString(16).padStart(4, '0')}`
        : `\\u{${cp.toString(16)}}`)
  );
}

/** Every unsafe character of `text` replaced by `escape(ch)`. */
export const replaceUnsafe = (text: string, escape: (ch: string) => string): string =>
  text.replace(UNSAFE_GLOBAL, escape);

/** `text` as one line a reader sees whole: every unsafe character, line breaks too, shown escaped. */
export const visibleLine = (text: string): string => replaceUnsafe(text, visibleEscape);

/**
 * `text` as one line of prose: each run of white space (line breaks and tabs too) as one space,
 * every other unsafe character shown escaped. For a chat line or a commit status, where a line
 * break only ever separated the words of a multi-line message.
 */
export const proseLine = (text: string): string => visibleLine(text.replace(/\s+/gu, ' ').trim());

/**
 * At most `max` characters (code points) of `text`, with a marker saying how many were cut: a
 * reader knows the value goes on, and a long value cannot push what follows it off the screen.
 */
export function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max).join('')}… (${chars.length - max} more characters)`;
}
