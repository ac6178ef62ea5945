// How the worker and the CLI reach Temporal: the registry says whether the frontend wants mTLS
// and/or an API key (as Secret references); the values come from the process environment, which
// the rendered Deployment fills from those Secrets. Never from the registry, never logged.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Registry } from '../config/registry.ts';

export interface TemporalSecurity {
  tls?:
    | boolean
    | { serverNameOverride?: string; serverRootCACertificate?: Buffer; clientCertPair: { crt: Buffer; key: Buffer } };
  apiKey?: string;
}

export class ConnectionConfigError extends Error {}

export function temporalSecurity(registry: Registry, env: NodeJS.ProcessEnv = process.env): TemporalSecurity {
  const t = registry.controller.temporal;
  const out: TemporalSecurity = {};
  if (t.tls) {
    const dir = env.BRANCH_FOLLOWER_TEMPORAL_TLS_DIR;
    if (!dir) {
      throw new ConnectionConfigError(
        `controller.temporal.tls is declared (Secret ${t.tls.secretRef.name}) but BRANCH_FOLLOWER_TEMPORAL_TLS_DIR is not set: point it at a directory holding that Secret's tls.crt, tls.key and, if the server's CA is private, ca.crt`,
      );
    }
    const read = (file: string, optional = false): Buffer | undefined => {
      try {
        return readFileSync(path.join(dir, file));
      } catch (err) {
        if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new ConnectionConfigError(
          `cannot read ${path.join(dir, file)} for controller.temporal.tls: ${(err as Error).message}`,
        );
      }
    };
    const ca = read('ca.crt', true);
    out.tls = {
      clientCertPair: { crt: read('tls.crt')!, key: read('tls.key')! },
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(t.tls.serverName ? { serverNameOverride: t.tls.serverName } : {}),
    };
  }
  if (t.apiKey) {
    const key = env.BRANCH_FOLLOWER_TEMPORAL_API_KEY;
    if (!key)
      throw new ConnectionConfigError(
        `controller.temporal.apiKey is declared (Secret ${t.apiKey.secretRef.name}, key ${t.apiKey.secretRef.key}) but BRANCH_FOLLOWER_TEMPORAL_API_KEY is not set`,
      );
    out.apiKey = key;
    // An API key travels only over TLS (server authentication, no client certificate needed).
    out.tls ??= true;
  }
  return out;
}
