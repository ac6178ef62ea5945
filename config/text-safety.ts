// Text a reviewer reads must be the text the follower uses. Invisible and direction-changing
// characters are refused anywhere in the registry; identifiers (branch names, mirror hosts and
// paths) must not mix scripts the way lookalike attacks do (a Cyrillic "а" in "main").
import { domainToASCII } from 'node:url';
import { hasUnsafeCharacter } from '../contract/untrusted/characters.ts';

/** The names an error gives the commonest of them: bidi controls, zero-width marks, BOM, soft hyphen. */
const INVISIBLE: Record<number, string> = {
  0x00ad: 'SOFT HYPHEN',
  0x061c: 'ARABIC LETTER MARK',
  0x180e: 'MONGOLIAN VOWEL SEPARATOR',
  0x200b: 'ZERO WIDTH SPACE',
  0x200c: 'ZERO WIDTH NON-JOINER',
  0x200d: 'ZERO WIDTH JOINER',
  0x200e: 'LEFT-TO-RIGHT MARK',
  0x200f: 'RIGHT-TO-LEFT MARK',
  0x202a: 'LEFT-TO-RIGHT EMBEDDING',
  0x202b: 'RIGHT-TO-LEFT EMBEDDING',
  0x202c: 'POP DIRECTIONAL FORMATTING',
  0x202d: 'LEFT-TO-RIGHT OVERRIDE',
  0x202e: 'RIGHT-TO-LEFT OVERRIDE',
  0x2060: 'WORD JOINER',
  0x2066: 'LEFT-TO-RIGHT ISOLATE',
  0x2067: 'RIGHT-TO-LEFT ISOLATE',
  0x2068: 'FIRST STRONG ISOLATE',
  0x2069: 'POP DIRECTIONAL ISOLATE',
  0xfeff: 'ZERO WIDTH NO-BREAK SPACE (BOM)',
};

const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** Shows a string with every character outside printable ASCII escaped (`\u0430`), so a reader sees what is there. */
export function escapeForDisplay(text: string): string {
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out +=
      cp >= 0x20 && cp < 0x7f
        ? ch
        : cp <= 0xffff
          ? `\\u${cp.toString(16).padStart(4, '0')}`
          : `\\u{${cp.toString(16)}}`;
  }
  return JSON.stringify(out).replace(/\\\\/g, '\\');
}

/**
 * Why `text` holds a character nobody can see (control, bidi, zero-width): the characters every
 * renderer of untrusted text escapes (contract/untrusted/characters.ts), refused here outright.
 */
export function invisibleCharacterProblem(text: string): string | undefined {
  for (const ch of text) {
    if (!hasUnsafeCharacter(ch)) continue;
    const cp = ch.codePointAt(0)!;
    const control = cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
    const name = INVISIBLE[cp] ?? (control ? (cp === 0 ? 'NUL' : 'a control character') : 'an invisible character');
    return `contains ${hex(cp)} (${name}), which a reader cannot see: ${escapeForDisplay(text)}`;
  }
  return undefined;
}

/** Scripts that Unicode's "highly restrictive" profile (UTS #39) lets Latin combine with. */
const SCRIPTS = [
  'Latin',
  'Cyrillic',
  'Greek',
  'Armenian',
  'Georgian',
  'Hebrew',
  'Arabic',
  'Han',
  'Hiragana',
  'Katakana',
  'Bopomofo',
  'Hangul',
  'Thai',
  'Devanagari',
  'Cherokee',
] as const;
const SCRIPT_RE = Object.fromEntries(SCRIPTS.map((s) => [s, new RegExp(`\\p{Script=${s}}`, 'u')])) as Record<
  (typeof SCRIPTS)[number],
  RegExp
>;
const ALLOWED_MIXES: readonly (readonly string[])[] = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
];

/** Why an identifier mixes scripts like a lookalike would (a Cyrillic letter in a Latin word), or undefined. */
export function mixedScriptProblem(text: string): string | undefined {
  const scripts = new Set<string>();
  for (const ch of text) {
    if (!/\p{L}/u.test(ch)) continue;
    scripts.add(SCRIPTS.find((s) => SCRIPT_RE[s].test(ch)) ?? 'another script');
  }
  if (scripts.size <= 1) return undefined;
  if (ALLOWED_MIXES.some((mix) => [...scripts].every((s) => mix.includes(s)))) return undefined;
  const foreign = [...text].filter((ch) => /\p{L}/u.test(ch) && !SCRIPT_RE.Latin.test(ch));
  return `mixes ${[...scripts].join(' and ')} letters (${foreign.map((ch) => hex(ch.codePointAt(0)!)).join(', ')}), as a lookalike would`;
}

/** A non-ASCII host, with the punycode form to write instead; undefined for an ASCII host. */
export function nonAsciiHostProblem(host: string): { message: string; hint: string } | undefined {
  if (/^[\x21-\x7e]*$/.test(host)) return undefined;
  const ascii = domainToASCII(host);
  return {
    message: `host ${escapeForDisplay(host)} is not ASCII: a reader may see another host`,
    hint: ascii ? `write it as its punycode form, ${ascii}` : 'write the host in ASCII (its punycode form)',
  };
}
