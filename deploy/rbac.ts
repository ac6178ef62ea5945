// The worker's least privilege, derived from what the registry makes it do: write its own state
// ConfigMap, create/read/cancel the runs of built-in adapters in their namespaces, and read the
// objects close-out checks name. Nothing else: no Secrets, no cluster-wide access, no wildcards.
import type { Registry } from '../config/registry.ts';
import { apiGroupOf, kubeKind } from '../contract/kube-kinds/index.ts';
import { CHECKED_OBJECTS, readsObject } from '../contract/kube-kinds/checked-objects.ts';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

interface Grant {
  apiGroup: string;
  resource: string;
  verbs: string[];
  /** Undefined: any name (objects the worker creates get names only at trigger time). */
  names?: string[];
}

/** Rules per namespace, in a stable order; the controller's own namespace comes first. */
export function roleRules(registry: Registry): Map<string, PolicyRule[]> {
  const k = registry.controller.kubernetes!;
  const grants = new Map<string, Grant[]>();
  const grant = (namespace: string, g: Grant) => {
    const list = grants.get(namespace) ?? [];
    grants.set(namespace, list);
    list.push(g);
  };
  // The state projection reads and replaces (resourceVersion-checked) one ConfigMap; apply creates it.
  grant(k.namespace, { apiGroup: '', resource: 'configmaps', verbs: ['get', 'update'], names: [k.configMaps.state] });

  for (const { spec, enabled } of registry.followers) {
    if (!enabled) continue;
    const a = spec.adapter;
    if (a.kind !== 'command') {
      const { apiVersion, rbac } = kubeKind(a.kind);
      grant(a.namespace, { apiGroup: apiGroupOf(apiVersion), resource: rbac.resource, verbs: [...rbac.verbs] });
    }
    const c = spec.closeout;
    if (readsObject(c)) {
      const { apiVersion, rbac } = CHECKED_OBJECTS[c.kind];
      grant(c.namespace, {
        apiGroup: apiGroupOf(apiVersion),
        resource: rbac.resource,
        verbs: [...rbac.verbs],
        names: [c.name],
      });
    }
  }

  const out = new Map<string, PolicyRule[]>();
  const namespaces = [k.namespace, ...[...grants.keys()].filter((n) => n !== k.namespace).sort()];
  for (const ns of namespaces) out.set(ns, merge(grants.get(ns)!));
  return out;
}

/** One rule per (group, resource, verbs); names are united, and "any name" wins over a list. */
function merge(list: Grant[]): PolicyRule[] {
  const byKey = new Map<string, Grant>();
  for (const g of list) {
    const key = `${g.apiGroup}/${g.resource}/${[...g.verbs].sort().join(',')}`;
    const prev = byKey.get(key);
    if (!prev) byKey.set(key, { ...g, names: g.names && [...g.names] });
    else if (!prev.names || !g.names) prev.names = undefined;
    else prev.names = [...new Set([...prev.names, ...g.names])];
  }
  return [...byKey.values()]
    .sort((a, b) => `${a.apiGroup}/${a.resource}`.localeCompare(`${b.apiGroup}/${b.resource}`))
    .map((g) => ({
      apiGroups: [g.apiGroup],
      resources: [g.resource],
      verbs: [...g.verbs].sort(),
      ...(g.names ? { resourceNames: [...g.names].sort() } : {}),
    }));
}
