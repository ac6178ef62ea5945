// Facts live once and the docs are rendered from them: reason codes (contract/codes.ts →
// docs/codes.md) and the registry's limits (config/limits.ts → docs/registry.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CODES, FailureCode, isCode } from '../../contract/codes.ts';
import { PHASES } from '../../contract/state.ts';
import { CODES_DOC, REGISTRY_DOC, renderCodesDoc, renderLimits, withLimits } from '../../scripts/docs.ts';

describe('rendered docs', () => {
  it('docs/codes.md is what contract/codes.ts renders (run `npm run docs` after a change)', () => {
    expect(readFileSync(CODES_DOC, 'utf8')).toBe(renderCodesDoc());
  });

  it('docs/registry.md lists the limits config/limits.ts enforces (run `npm run docs` after a change)', () => {
    const doc = readFileSync(REGISTRY_DOC, 'utf8');
    expect(doc).toContain(renderLimits());
    expect(withLimits(doc)).toBe(doc);
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
