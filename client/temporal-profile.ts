// Where the operator CLI connects, for users of the `temporal` CLI: its environment variables
// (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*) and, when one is
// selected with TEMPORAL_PROFILE, a profile of its configuration file (TEMPORAL_CONFIG_FILE or
// ~/.config/temporalio/temporal.toml), read by Temporal's own loader. Ours override theirs: the
// BRANCH_FOLLOWER_TEMPORAL_* variables first, then theirs, then the selected profile, then the
// registry. The worker reads only the registry and ours (docs/deploy.md): a shell's profile
// never moves a Deployment.
import type { ClientConfigProfile } from '@temporalio/envconfig';
import type { Registry } from '../config/registry.ts';
import { commonJs } from './common-js.ts';
import { temporalTarget, type TemporalTarget } from '../config/target.ts';
import { temporalSecurity, type TemporalSecurity } from '../worker/connection.ts';

export class ProfileError extends Error {}

interface Layer {
  profile: ClientConfigProfile;
  from: (key: string) => string;
}

/** The Temporal CLI's settings, most specific first: its environment, then the selected profile. */
async function theirs(env: NodeJS.ProcessEnv): Promise<Layer[]> {
  const { loadClientConfigProfile } = commonJs(await import('@temporalio/envconfig'));
  const vars = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
  const layers: Layer[] = [];
  try {
    layers.push({
      profile: loadClientConfigProfile({ disableFile: true, overrideEnvVars: vars }),
      from: (key) => `TEMPORAL_${key === 'apiKey' ? 'API_KEY' : key.toUpperCase()}`,
    });
    const name = env.TEMPORAL_PROFILE;
    if (name) {
      const file = env.TEMPORAL_CONFIG_FILE ?? '~/.config/temporalio/temporal.toml';
      const profile = loadClientConfigProfile({ profile: name, disableEnv: true, overrideEnvVars: vars });
      layers.push({ profile, from: () => `profile ${name} in ${file}` });
    }
  } catch (err) {
    throw new ProfileError(`the Temporal CLI's configuration: ${(err as Error).message}`);
  }
  return layers;
}

/** The server (and where its address came from), namespace and credentials the CLI uses. */
export async function cliTarget(
  registry: Registry,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ target: TemporalTarget; security: TemporalSecurity }> {
  const ours = temporalTarget(registry, env);
  const layers = await theirs(env);
  const pick = (key: 'address' | 'namespace'): Layer | undefined => layers.find((l) => l.profile[key]);
  const target = { ...ours };
  const address = pick('address');
  if (!env.BRANCH_FOLLOWER_TEMPORAL_ADDRESS && address)
    Object.assign(target, { address: address.profile.address, addressFrom: address.from('address') });
  const namespace = pick('namespace');
  if (!env.BRANCH_FOLLOWER_TEMPORAL_NAMESPACE && namespace)
    Object.assign(target, { namespace: namespace.profile.namespace, namespaceFrom: namespace.from('namespace') });
  // Credentials the registry declares come from our variables; otherwise the Temporal CLI's, if any.
  const t = registry.controller.temporal;
  if (t.tls || t.apiKey) return { target, security: temporalSecurity(registry, env) };
  const credentials = layers.find((l) => l.profile.apiKey || l.profile.tls);
  if (!credentials) return { target, security: {} };
  const { toClientOptions } = commonJs(await import('@temporalio/envconfig'));
  const { tls, apiKey } = toClientOptions(credentials.profile).connectionOptions;
  return {
    target,
    security: {
      ...(tls !== undefined ? { tls: tls as TemporalSecurity['tls'] } : {}),
      ...(apiKey ? { apiKey: apiKey as string } : {}),
    },
  };
}
