// Temporal visibility queries, built from parts, never by pasting text: every value is a quoted,
// escaped string literal, so a registry value can only ever be a value.

/** A string literal of the visibility query language: single quotes, backslash and quote escaped. */
export const literal = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/** `attribute = 'value' AND …`, for fixed attribute names and any values. */
export function allEqual(conditions: Record<string, string>): string {
  return Object.entries(conditions)
    .map(([attribute, value]) => {
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(attribute)) throw new Error(`not a search attribute name: ${attribute}`);
      return `${attribute} = ${literal(value)}`;
    })
    .join(' AND ');
}
