// Renders the rows the fault suite recorded (BF_RELIABILITY_REPORT) into docs/RELIABILITY.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { ReliabilityRow as Row } from '../test/support/reliability.ts';

const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: reliability-report <rows.jsonl> <RELIABILITY.md>');
if (!existsSync(output))
  throw new Error(`${output} does not exist: the figures are written between its figures:begin/end markers`);
const rows = readFileSync(input, 'utf8')
  .trim()
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Row);
const cell = (s: string | number): string => String(s).replace(/\|/g, '\\|');
const body = rows.map(
  (r) =>
    `| ${cell(r.fault)} | ${cell(r.injected)} | ${r.duplicates} | ${r.lost} | ${cell(r.recovery)} | \`${cell(r.reproduce)}\` |`,
);
const template = readFileSync(output, 'utf8');
const begin = '<!-- figures:begin -->';
const end = '<!-- figures:end -->';
const table = [
  begin,
  `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} cores, Node ${process.version}, by \`npm run test:faults\`.`,
  '',
  '| fault | injected | duplicates | lost | recovery | reproduce |',
  '|---|---|---|---|---|---|',
  ...body,
  end,
].join('\n');
writeFileSync(output, template.replace(new RegExp(`${begin}[\\s\\S]*${end}`), table));
console.log(`wrote ${rows.length} rows to ${output}`);
