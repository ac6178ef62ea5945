// `npm run docs:codes`: writes docs/codes.md, the one list of reason codes, from contract/codes.ts.
// test/unit/codes.test.ts fails when the committed file differs from what this renders.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CODES } from '../contract/codes.ts';

export const CODES_DOC = fileURLToPath(new URL('../docs/codes.md', import.meta.url));

export function renderCodesDoc(): string {
  const rows = Object.entries(CODES).map(([code, { phase, meaning }]) => `| \`${code}\` | ${phase ?? 'event'} | ${meaning} |`);
  return [
    '# Reason codes',
    '',
    'Every phase, transition, failure and event a follower reports carries one of these codes and a',
    'human message. Decide on the code (`FollowerPhase` and the `code` of `state`, `events` and the',
    'state ConfigMap entry); the message only explains. Generated from',
    '[`contract/codes.ts`](../contract/codes.ts) by `npm run docs:codes`.',
    '',
    '| code | phase | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(CODES_DOC, renderCodesDoc());
  console.log(`wrote ${CODES_DOC}`);
}
