// Temporal visibility queries, built from parts, never by pasting text: every value is a quoted
// string literal, so a registry value can only ever be a value.

/**
 * A string literal of the visibility query language. A quote is written twice. The server's
 * parser has no escape for a backslash (it reads `\'` as a quote, and `\\` as two characters), so
 * a value with one — or a control character — is refused: no name this tool queries by has one.
 */
export function literal(value: string): string {
  if (/[\\\x00-\x1f\x7f]/.test(value))
    throw new Error(
      `${JSON.stringify(value)} cannot be quoted into a visibility query (a backslash or control character)`,
    );
  return `'${value.replace(/'/g, "''")}'`;
}

/** `attribute = 'value' AND …`, for fixed attribute names and any values. */
export function allEqual(conditions: Record<string, string>): string {
  return Object.entries(conditions)
    .map(([attribute, value]) => {
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(attribute)) throw new Error(`not a search attribute name: ${attribute}`);
      return `${attribute} = ${literal(value)}`;
    })
    .join(' AND ');
}
