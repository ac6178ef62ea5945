// A `host:port` value as the registry writes it (checked by the schema's hostPort pattern): where a
// server listens or answers. The port is after the last colon.
export function splitHostPort(value: string): [host: string, port: number] {
  const i = value.lastIndexOf(':');
  return [value.slice(0, i), Number(value.slice(i + 1))];
}
