// Reason codes are listed once: contract/codes.ts, rendered into docs/codes.md.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CODES, FailureCode, isCode } from '../../contract/codes.ts';
import { PHASES } from '../../contract/state.ts';
import { CODES_DOC, renderCodesDoc } from '../../scripts/codes-doc.ts';

describe('reason codes', () => {
  it('docs/codes.md is what contract/codes.ts renders (run `npm run docs:codes` after a change)', () => {
    expect(readFileSync(CODES_DOC, 'utf8')).toBe(renderCodesDoc());
  });

  it('each code names a real phase (or is an event) and says what it means', () => {
    for (const [code, { phase, meaning }] of Object.entries(CODES)) {
      if (phase !== null) expect(PHASES, code).toContain(phase);
      expect(meaning.length, code).toBeGreaterThan(20);
    }
  });

  it('every activity failure code is a code', () => {
    for (const code of Object.values(FailureCode)) expect(isCode(code), code).toBe(true);
    expect(isCode('toString')).toBe(false);
    expect(isCode(undefined)).toBe(false);
  });
});
