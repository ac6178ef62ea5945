// The Kubernetes objects a close-out check reads by name — not an adapter's own runs (those are the
// kinds next to this file): a Deployment's rollout, an Argo CD Application's sync. What object each
// check kind reads and what the worker may do with it (in the apiVersion's group), in one place:
// the activity reads it (activities/kube/checks.ts), the Role grants it (deploy/rbac.ts), the
// registry resolves and checks its namespace and name (config/). How each is judged lives in
// activities/kube/verdicts.ts.

export const CHECKED_OBJECTS = {
  'deployment-rollout': {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    rbac: { resource: 'deployments', verbs: ['get'] },
  },
  'argocd-application': {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Application',
    rbac: { resource: 'applications', verbs: ['get'] },
  },
} as const;

/** A check kind that reads one named object. */
export type ObjectCheckKind = keyof typeof CHECKED_OBJECTS;

/** Whether a check (by its kind) reads one named object, so its rule names the object's namespace and name. */
export const readsObject = <R extends { kind: string }>(rule: R): rule is Extract<R, { kind: ObjectCheckKind }> =>
  Object.hasOwn(CHECKED_OBJECTS, rule.kind);
