// JSON that keeps every value exact and still shows nothing raw to a reader who prints it: the
// characters a terminal obeys or a reader cannot see are written as JSON's own \u escapes, which
// any JSON parser turns back into the same value. JSON.stringify escapes C0 controls only; C1
// controls (U+009B is a CSI), bidi overrides and zero-width characters it leaves raw.
import { replaceUnsafe } from './characters.ts';

/** Inside strings JSON.stringify has escaped these already: raw, they are the layout's own white space. */
const LAYOUT = new Set(['\n', '\r', '\t']);

const jsonEscape = (ch: string): string =>
  LAYOUT.has(ch)
    ? ch
    : Array.from({ length: ch.length }, (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');

/** `JSON.stringify(value, null, indent)` with every unsafe character in a value \u-escaped. */
export const readableJson = (value: unknown, indent?: number): string =>
  replaceUnsafe(JSON.stringify(value, null, indent), jsonEscape);
