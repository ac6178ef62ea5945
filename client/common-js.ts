// CommonJS packages the CLI loads on first use (`await import(…)`), so `--version` and the local
// checks never pay for them. Where their exports land differs by loader: the namespace's `default`
// under Node and in the compiled CLI, the namespace itself under tsx (which honours `__esModule`).

/** A CommonJS package's exports, from its dynamically imported namespace, under any loader. */
export function commonJs<T extends object>(namespace: { default: T }): T {
  const exports = (namespace as { default?: T }).default;
  return exports && typeof exports === 'object' ? exports : (namespace as unknown as T);
}
