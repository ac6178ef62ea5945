// Untrusted text through every renderer (contract/untrusted/): the corpus of terminal controls,
// line forgeries, bidi and invisible characters, markdown, HTML and chat markup. The payloads are
// printable ASCII around the hostile characters, so what arrives must be printable ASCII alone —
// an oracle that owes nothing to the renderers' own definition of what is unsafe. Markdown is
// parsed by mdast-util-from-markdown, the parser the Temporal UI renders details with.
import { stripVTControlCharacters } from 'node:util';
import { fromMarkdown } from 'mdast-util-from-markdown';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { table, readableYaml } from '../../client/output.ts';
import { chatLiteral, CHAT_VALUE_MAX } from '../../contract/untrusted/chat.ts';
import { visibleLine } from '../../contract/untrusted/characters.ts';
import { readableJson } from '../../contract/untrusted/json.ts';
import { code, mdLine, MARKDOWN_VALUE_MAX } from '../../contract/untrusted/markdown.ts';
import { relayedOutput, tty } from '../../contract/untrusted/terminal.ts';
import { workerLog } from '../../worker/log.ts';
import { ALL_AT_ONCE, UNTRUSTED_CORPUS } from '../support/untrusted-corpus.ts';

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const cases = UNTRUSTED_CORPUS.map((p) => [`${p.cls}: ${p.name}`, p.text] as const);

/** Every node of a markdown tree, depth first. */
function nodes(tree: { type: string; children?: unknown[] }): { type: string; value?: string }[] {
  return [tree, ...(tree.children ?? []).flatMap((c) => nodes(c as typeof tree))];
}

describe('the corpus', () => {
  it('holds every class the issue names, and more payloads than it lists', () => {
    const classes = new Set(UNTRUSTED_CORPUS.map((p) => p.cls));
    expect([...classes]).toEqual([
      'terminal control',
      'newline forgery',
      'bidi',
      'invisible',
      'markdown and HTML',
      'chat markup',
    ]);
    expect(UNTRUSTED_CORPUS.length).toBeGreaterThan(60);
    // The oracle only works if every payload carries something that is not printable ASCII, or markup.
    for (const p of UNTRUSTED_CORPUS.filter((p) => !/markdown|chat/.test(p.cls)))
      expect(PRINTABLE_ASCII.test(p.text), p.name).toBe(false);
  });
});

describe('on a terminal', () => {
  it.each(cases)('%s: a line shows it escaped, whole, on one line', (_, text) => {
    const line = tty`reason: ${text}`.text;
    expect(line).toMatch(PRINTABLE_ASCII);
    expect(stripVTControlCharacters(line)).toBe(line);
    expect(line.startsWith('reason: before ')).toBe(true);
    expect(line.endsWith(' after')).toBe(true);
  });

  it.each(cases)('%s: a table cell cannot start a row', (_, text) => {
    const shown = table(
      ['TIME', 'MESSAGE'],
      [
        ['12:00', text],
        ['12:01', 'next'],
      ],
    ).text.split('\n');
    expect(shown).toHaveLength(3);
    for (const line of shown) expect(line).toMatch(PRINTABLE_ASCII);
    expect(shown[2]).toMatch(/^12:01 +next$/);
  });

  it('our own colours pass; the same bytes in a value do not', () => {
    const red = tty`${'\x1b[31m'}`;
    expect(red.text).toBe('\\x1b[31m');
    expect(visibleLine('a\u202eb\nc')).toBe('a\\u202eb\\nc');
    expect(visibleLine('\u{e0041}')).toBe('\\u{e0041}');
  });

  it.each(cases)('%s: relayed job output keeps its lines and tabs, and nothing else raw', (_, text) => {
    const out = relayedOutput(`line one\t${text}\nline two`).text;
    for (const line of out.split('\n')) expect(line.replace(/\t/g, ' ')).toMatch(PRINTABLE_ASCII);
    expect(out.split('\n')[0]).toMatch(/^line one\tbefore /);
    expect(out.split('\n').at(-1)).toBe('line two');
  });
});

describe('in markdown (the Temporal UI details)', () => {
  it.each(cases)('%s: renders as its characters and nothing else', (_, text) => {
    const doc = mdLine`- paused since 12:00: ${text}`.text;
    expect(doc).toMatch(PRINTABLE_ASCII);
    const tree = fromMarkdown(doc);
    const kinds = new Set(nodes(tree).map((n) => n.type));
    expect([...kinds].sort()).toEqual(['list', 'listItem', 'paragraph', 'root', 'text']);
    const shown = nodes(tree)
      .filter((n) => n.type === 'text')
      .map((n) => n.value)
      .join('');
    expect(shown).toBe(`paused since 12:00: ${visibleLine(text)}`);
  });

  it.each(cases)('%s: in a code span, stays in it', (_, text) => {
    const tree = fromMarkdown(mdLine`job ${code(text)} done`.text);
    const all = nodes(tree);
    expect(all.filter((n) => n.type === 'inlineCode').map((n) => n.value)).toEqual([visibleLine(text)]);
    expect(all.filter((n) => !['root', 'paragraph', 'text', 'inlineCode'].includes(n.type))).toEqual([]);
  });

  it('a long value is cut, with a marker that says how much', () => {
    const doc = mdLine`${'x'.repeat(MARKDOWN_VALUE_MAX + 50)}`.text;
    expect(doc).toBe(`${'x'.repeat(MARKDOWN_VALUE_MAX)}… \\(50 more characters\\)`);
  });
});

describe('in a chat message', () => {
  it.each(cases)('%s: an inert code span, with no control sequence Slack or Google Chat would read', (_, text) => {
    const shown = chatLiteral(text);
    expect(shown).toMatch(PRINTABLE_ASCII);
    expect(shown).toMatch(/^`[^`<>]*`$/);
    // What a markdown chat (Mattermost, Discord) makes of it: one code span, nothing else.
    const all = nodes(fromMarkdown(shown));
    expect(all.map((n) => n.type)).toEqual(['root', 'paragraph', 'inlineCode']);
  });

  it('the whole corpus at once is cut to the chat limit, with the marker', () => {
    const shown = chatLiteral(ALL_AT_ONCE);
    expect(shown).toMatch(/… \(\d+ more characters\)`$/);
    expect(Array.from(shown).length).toBeLessThan(CHAT_VALUE_MAX + 40);
  });
});

describe('as JSON and YAML', () => {
  const value = { message: ALL_AT_ONCE, byClass: UNTRUSTED_CORPUS.map((p) => p.text) };

  it('JSON keeps every value exact and shows nothing raw', () => {
    const json = readableJson(value, 2);
    for (const line of json.split('\n')) expect(line).toMatch(PRINTABLE_ASCII);
    expect(JSON.parse(json)).toEqual(value);
  });

  it('YAML keeps every value exact and shows nothing raw', () => {
    const yaml = readableYaml(value);
    for (const line of yaml.split('\n')) expect(line).toMatch(PRINTABLE_ASCII);
    expect(YAML.parse(yaml)).toEqual(value);
  });
});

describe('in the worker log', () => {
  const written = (isTTY: boolean, msg: string, error: string) => {
    const lines: string[] = [];
    workerLog({ isTTY, write: (s: string) => lines.push(s) })('warn', msg, { follower: 'app', error });
    return lines.join('');
  };

  it.each(cases)('%s: one line, nothing raw, on a terminal and as JSON', (_, text) => {
    for (const isTTY of [true, false]) {
      const out = written(isTTY, `webhook: ${text}`, text);
      expect(out.endsWith('\n')).toBe(true);
      expect(out.slice(0, -1)).toMatch(PRINTABLE_ASCII);
    }
    expect(JSON.parse(written(false, text, text))).toMatchObject({ msg: text, error: text });
  });
});
