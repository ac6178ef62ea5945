// The real Kubernetes API the Kubernetes tests build on: etcd + kube-apiserver from Go modules,
// TLS, RBAC, and token users. Here: it starts, and RBAC decides for the worker's identity.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKubeCluster, type KubeCluster } from '../support/kube-cluster.ts';

const NS = 'branch-follower';
let kube: KubeCluster;
beforeAll(async () => {
  kube = await startKubeCluster({ namespace: NS, serviceAccount: 'branch-follower', log: (l) => console.log(`[kube] ${l}`) });
}, 180_000); // the binaries are provisioned by the global setup
afterAll(() => kube?.stop());

describe('real kube-apiserver with RBAC and token users', () => {
  it('the admin may do anything; the worker identity only what a Role grants it, in its namespace', async () => {
    const admin = (method: string, p: string, body?: unknown) => kube.request(kube.adminToken, method, p, body);
    const worker = (method: string, p: string, body?: unknown) => kube.request(kube.workerToken, method, p, body);
    expect((await admin('POST', '/api/v1/namespaces', { metadata: { name: NS } })).status).toBe(201);
    expect((await admin('POST', '/api/v1/namespaces', { metadata: { name: 'other' } })).status).toBe(201);

    // Nothing granted yet: forbidden.
    expect((await worker('GET', `/api/v1/namespaces/${NS}/configmaps`)).status).toBe(403);

    await admin('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/roles`, {
      metadata: { name: 'worker' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create', 'update', 'patch'] }],
    });
    await admin('POST', `/apis/rbac.authorization.k8s.io/v1/namespaces/${NS}/rolebindings`, {
      metadata: { name: 'worker' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'worker' },
      subjects: [{ kind: 'ServiceAccount', name: 'branch-follower', namespace: NS }],
    });

    const created = await worker('POST', `/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: 'branch-follower-state' }, data: {} });
    expect(created.status).toBe(201);
    expect((await worker('GET', `/api/v1/namespaces/${NS}/configmaps/branch-follower-state`)).status).toBe(200);
    // Outside its grant: Secrets in its namespace, anything in another namespace.
    const secrets = await worker('GET', `/api/v1/namespaces/${NS}/secrets`);
    expect(secrets.status).toBe(403);
    expect(secrets.body.message).toContain(`system:serviceaccount:${NS}:branch-follower`);
    expect((await worker('POST', '/api/v1/namespaces/other/configmaps', { metadata: { name: 'x' } })).status).toBe(403);
  });
});
