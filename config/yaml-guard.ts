// YAML is read as the registry's own dialect: YAML 1.2, core schema, no custom tags, no merge
// keys, bounded in size, nesting and alias expansion. The raw text is checked before the parser
// sees it (a deep enough nesting exhausts the parser itself); the document after.
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export const MAX_REGISTRY_BYTES = 1024 * 1024;
export const MAX_NESTING = 64;
/** Alias expansions `toJS` may make: a few shared argv lists are fine, a billion laughs is not. */
export const MAX_ALIAS_COUNT = 200;
const CORE_TAGS = new Set([
  'tag:yaml.org,2002:str',
  'tag:yaml.org,2002:int',
  'tag:yaml.org,2002:float',
  'tag:yaml.org,2002:bool',
  'tag:yaml.org,2002:null',
  'tag:yaml.org,2002:map',
  'tag:yaml.org,2002:seq',
]);

export interface GuardIssue {
  offset: number;
  path: (string | number)[];
  message: string;
  hint: string;
}

/** Before parsing: size, and nesting of flow collections (`[[[…]]]`) and of block indentation. */
export function rawTextProblems(text: string): GuardIssue[] {
  if (Buffer.byteLength(text) > MAX_REGISTRY_BYTES) {
    return [
      {
        offset: 0,
        path: [],
        message: `the registry is ${Buffer.byteLength(text)} bytes, over the ${MAX_REGISTRY_BYTES}-byte limit`,
        hint: 'a registry is a few kilobytes: split lane details into configRef files',
      },
    ];
  }
  let depth = 0;
  let quote: string | undefined;
  let lineStart = true;
  let indent = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      lineStart = true;
      indent = 0;
      continue;
    }
    if (lineStart && c === ' ') {
      if (++indent > 2 * MAX_NESTING)
        return [
          {
            offset: i,
            path: [],
            message: `indented more than ${2 * MAX_NESTING} columns`,
            hint: `the registry nests at most ${MAX_NESTING} levels`,
          },
        ];
      continue;
    }
    lineStart = false;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i + 1 < text.length && text[i + 1] !== '\n') i++;
    } else if (c === '"' || (c === "'" && (i === 0 || /[\s[{,:]/.test(text[i - 1]!)))) {
      quote = c;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_NESTING)
        return [
          {
            offset: i,
            path: [],
            message: `flow collections nest deeper than ${MAX_NESTING} levels`,
            hint: `the registry nests at most ${MAX_NESTING} levels`,
          },
        ];
    } else if (c === ']' || c === '}') {
      depth = Math.max(0, depth - 1);
    }
  }
  return [];
}

/** After parsing: directives, tags, merge keys and duplicate keys, each with its YAML path. */
export function documentProblems(doc: Document): GuardIssue[] {
  const issues: GuardIssue[] = [];
  const yaml = doc.directives?.yaml;
  if (yaml?.explicit && yaml.version !== '1.2') {
    issues.push({
      offset: 0,
      path: [],
      message: `%YAML ${yaml.version} is not read here: the registry is YAML 1.2 (in 1.1, yes/no are booleans and << merges maps)`,
      hint: 'remove the %YAML line and write true/false',
    });
  }
  if (doc.directives && Object.keys(doc.directives.tags).some((handle) => handle !== '!!' && handle !== '!')) {
    issues.push({
      offset: 0,
      path: [],
      message: '%TAG directives are not supported',
      hint: 'remove the %TAG line; the registry uses plain YAML values',
    });
  }
  walk(doc.contents as Node | null, [], (node, path) => {
    const offset = node.range?.[0] ?? 0;
    if (node.tag && !isAlias(node) && !CORE_TAGS.has(node.tag)) {
      issues.push({
        offset,
        path,
        message: `tag ${node.tag.replace('tag:yaml.org,2002:', '!!')} is not supported (it would be dropped or read as text)`,
        hint: 'remove the tag: write the plain value',
      });
    }
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? pair.key.value : pair.key;
        const keyOffset = (pair.key as Node | null)?.range?.[0] ?? offset;
        if (key === '<<')
          issues.push({
            offset: keyOffset,
            path: [...path, '<<'],
            message: 'merge keys (<<) are not YAML 1.2',
            hint: 'write the keys out (an &anchor and *alias can still share a whole value)',
          });
        else if (seen.has(key))
          issues.push({
            offset: keyOffset,
            path: [...path, String(key)],
            message: `duplicate key "${String(key)}": YAML would keep only one of them`,
            hint: 'remove one, or merge the two',
          });
        seen.add(key);
      }
    }
  });
  return issues;
}

function walk(
  node: Node | null | undefined,
  path: (string | number)[],
  visit: (node: Node, path: (string | number)[]) => void,
): void {
  if (!node) return;
  visit(node, path);
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      if (pair.key) visit(pair.key as Node, [...path, key]);
      walk(pair.value as Node | null, [...path, key], visit);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => walk(item as Node, [...path, i], visit));
  }
}

/** Every scalar of the document — keys and values — with its path and position, for text checks. */
export function scalars(doc: Document): { path: (string | number)[]; offset: number; text: string; isKey: boolean }[] {
  const out: { path: (string | number)[]; offset: number; text: string; isKey: boolean }[] = [];
  const keys = new Set<Node>();
  walk(doc.contents as Node | null, [], (node, path) => {
    if (isMap(node)) for (const pair of node.items) if (pair.key) keys.add(pair.key as Node);
    if (isScalar(node) && typeof node.value === 'string')
      out.push({ path, offset: node.range?.[0] ?? 0, text: node.value, isKey: keys.has(node) });
  });
  return out;
}

export const position = (lines: LineCounter, offset: number): { line: number; column: number } => {
  const p = lines.linePos(offset);
  return { line: p.line, column: p.col };
};
