// `{name}` placeholders, as used in adapter argv, Kubernetes names and object templates. Values
// are substituted into strings only, never parsed again, so a value cannot add structure.
const PLACEHOLDER = /\{([^{}]*)\}/g;

export function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

/** Renders `text`; `missing` is called for a name without a value and its result is used. */
export function renderString(
  text: string,
  values: Record<string, string | undefined>,
  missing: (name: string) => string,
): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => values[name] ?? missing(name));
}

/** Every string scalar of a JSON-like value, with the path to it (for messages). */
export function* stringsIn(
  value: unknown,
  path: (string | number)[] = [],
): Generator<{ path: (string | number)[]; text: string }> {
  if (typeof value === 'string') yield { path, text: value };
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* stringsIn(v, [...path, i]);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* stringsIn(v, [...path, k]);
}

/** A copy of a JSON-like value with every string scalar rendered. */
export function renderDeep<T>(value: T, render: (text: string) => string): T {
  if (typeof value === 'string') return render(value) as T;
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, render)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderDeep(v, render)])) as T;
  return value;
}
