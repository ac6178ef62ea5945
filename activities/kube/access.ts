// How the worker reaches the Kubernetes API. Explicitly, never by accident: in a pod through its
// ServiceAccount, or through the kubeconfig file named by BRANCH_FOLLOWER_KUBECONFIG. A developer's
// ~/.kube/config is never picked up, so `npm start` cannot write into whatever cluster it names.
import { existsSync } from 'node:fs';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { FailureCode } from '../../contract/codes.ts';
import { failure } from '../failure.ts';

export interface KubeAccess {
  objects: KubernetesObjectApi;
  core: CoreV1Api;
  /** Where the credentials came from, for messages. */
  source: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function workerKubeAccess(env: NodeJS.ProcessEnv): KubeAccess | undefined {
  const kc = new KubeConfig();
  let source: string;
  if (env.BRANCH_FOLLOWER_KUBECONFIG) {
    kc.loadFromFile(env.BRANCH_FOLLOWER_KUBECONFIG);
    source = `kubeconfig ${env.BRANCH_FOLLOWER_KUBECONFIG}`;
  } else if (env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
    source = 'in-cluster ServiceAccount';
  } else {
    return undefined;
  }
  return accessFor(kc, source);
}

export function accessFor(kc: KubeConfig, source: string): KubeAccess {
  return { objects: KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(CoreV1Api), source };
}

export const NO_ACCESS =
  'the worker has no Kubernetes access: run it in the cluster (its ServiceAccount) or set BRANCH_FOLLOWER_KUBECONFIG';

/** The access, or an AdapterMissing failure (the follower is Blocked and tries again). */
export function requireAccess(kube: KubeAccess | undefined, what: string): KubeAccess {
  if (!kube) throw failure(FailureCode.AdapterMissing, `${what}: ${NO_ACCESS}`, true);
  return kube;
}

/** The HTTP status of a Kubernetes API error, or undefined for anything else (network, bugs). */
export function apiStatus(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

/** The API server's own words for an error (its Status message), not the client's wrapping. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body: unknown = typeof err.body === 'string' ? safeJson(err.body) : err.body;
    const message =
      body && typeof body === 'object' && 'message' in body
        ? String((body as { message: unknown }).message)
        : err.message.split('\n')[0];
    return `${err.code}: ${message}`;
  }
  return err instanceof Error ? err.message : String(err);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A Kubernetes API failure as the follower sees it: forbidden or invalid will not fix itself
 * (terminal for this attempt); conflicts, server errors and network trouble are worth a retry.
 */
export function kubeFailure(what: string, err: unknown, opts: { create?: boolean } = {}) {
  const code = apiStatus(err);
  const terminal = code === 400 || code === 401 || code === 403 || code === 422;
  // A create the server did not answer (network trouble, a 5xx) may have happened all the same.
  const mayHaveReached = Boolean(opts.create) && (code === undefined || code >= 500);
  return failure(FailureCode.AdapterFailed, `${what}: ${apiMessage(err)}`, !terminal, { mayHaveReached });
}

/** Reads an object; undefined when it does not exist. */
export async function readObject<T extends KubernetesObject>(
  kube: KubeAccess,
  header: { apiVersion: string; kind: string; namespace: string; name: string },
): Promise<T | undefined> {
  try {
    return (await kube.objects.read({
      apiVersion: header.apiVersion,
      kind: header.kind,
      metadata: { name: header.name, namespace: header.namespace },
    })) as T;
  } catch (err) {
    if (apiStatus(err) === 404) return undefined;
    throw err;
  }
}
