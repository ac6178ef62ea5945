// What every layer knows about one Kubernetes kind a built-in adapter creates per trigger: its
// registry name, its API type, how its pods are found, what the worker may do with it, how a
// superseded run is stopped and what a run says about its sha. Pure data and pure functions, so
// config/, activities/, client/, deploy/ and contract/spec.ts all read the same facts; one module
// per kind next to this file, listed in index.ts.
import type { RuntimeStatus } from '../adapter.ts';

/** A condition as Kubernetes controllers report them in `status.conditions`. */
export interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
}

/** The condition of `type`, if the controller has set it. */
export const condition = (conds: Condition[] | undefined, type: string): Condition | undefined =>
  conds?.find((c) => c.type === type);

/** A condition's reason and message, as one phrase ("" when it has neither). */
export const said = (c: Condition | undefined): string => [c?.reason, c?.message].filter(Boolean).join(': ');

/** The API group of an apiVersion (`batch/v1` → `batch`; `v1`, the core group → ''), as a Role names it. */
export const apiGroupOf = (apiVersion: string): string =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

/** A run as read from the API server; `Status` is what its kind's verdict reads (unvalidated). */
export interface RunObject<Status = unknown> {
  metadata?: { name?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  status?: Status;
}

/** How a superseded run is stopped: a merge patch its controller acts on, or deleting it. */
export type CancelStrategy =
  /** `patch` is merged over the object's apiVersion, kind and metadata (name, namespace). */
  | { by: 'merge-patch'; patch: Record<string, unknown> }
  /** Deleted, its dependents (pods) garbage-collected with this propagation policy. */
  | { by: 'delete'; propagation: 'Background' | 'Foreground' };

export interface KubeKind<Name extends string = string, Status = unknown> {
  /** The adapter kind in the registry; its close-out check kind has the same name. */
  name: Name;
  apiVersion: string;
  kind: string;
  /** The label the run's pods carry, valued with the run's name: how `logs` finds them. */
  podLabel: string;
  /** What the worker may do with runs in the adapter's namespace: its Role (deploy/rbac.ts), in the apiVersion's group. */
  rbac: { resource: string; verbs: readonly string[] };
  cancel: CancelStrategy;
  /** What `verdict` decides, for people: a cell of the kinds table in docs/adapters.md (`npm run docs`). */
  closesOutWhen: string;
  /**
   * What a run says about `sha`, once the caller has found it and made sure it was created for
   * `sha`: Succeeded, Failed (retryable as the check says) or Running, with the run's name as the job.
   */
  verdict(run: RunObject<Status>, name: string, sha: string, retryable: boolean): RuntimeStatus;
}

/** A kind's descriptor, its name kept as a literal so the registry's types derive from the list. */
export const defineKubeKind = <const Name extends string, Status>(kind: KubeKind<Name, Status>): KubeKind<Name> => kind;
