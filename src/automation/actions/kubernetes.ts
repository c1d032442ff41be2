import type { AppsV1Api } from '@kubernetes/client-node';
import type { ActionResult, Redact } from './types.js';

export interface KubernetesSpec {
  operation: 'restart' | 'scale';
  namespace: string;
  deployment: string;
  replicas?: number;
  /** Kubeconfig file; in-cluster or ~/.kube/config when absent. */
  kubeconfig?: string;
}

export function describeKubernetes(spec: KubernetesSpec): Record<string, unknown> {
  return { kind: 'kubernetes', ...spec };
}

/** The client is loaded on first use: it is large, and most daemons never touch Kubernetes. */
async function appsApi(kubeconfig: string | undefined): Promise<AppsV1Api> {
  const { AppsV1Api, KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromDefault();
  return kc.makeApiClient(AppsV1Api);
}

/**
 * `restart` does what `kubectl rollout restart` does: a strategic-merge patch stamping the pod template's
 * `kubectl.kubernetes.io/restartedAt` annotation, so the Deployment rolls its pods. `scale` merge-patches
 * the Deployment's scale subresource.
 */
export async function runKubernetes(spec: KubernetesSpec, now: number, redact: Redact): Promise<ActionResult> {
  const started = Date.now();
  const action = describeKubernetes(spec);
  try {
    const api = await appsApi(spec.kubeconfig);
    const { PatchStrategy, setHeaderOptions } = await import('@kubernetes/client-node');
    const { deployment: name, namespace } = spec;
    if (spec.operation === 'restart') {
      const body = { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': new Date(now).toISOString() } } } } };
      await api.patchNamespacedDeployment({ name, namespace, body }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
      return { ok: true, action, stdout: `deployment.apps/${name} restarted`, durationMs: Date.now() - started, dryRun: false };
    }
    const scale = await api.patchNamespacedDeploymentScale({ name, namespace, body: { spec: { replicas: spec.replicas } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    return { ok: true, action, stdout: `deployment.apps/${name} scaled to ${scale.spec?.replicas ?? spec.replicas}`, durationMs: Date.now() - started, dryRun: false };
  } catch (err) {
    const e = err as { code?: number; body?: unknown; message: string };
    const message = typeof e.body === 'string' ? e.body : e.message;
    return { ok: false, action, ...(e.code ? { status: e.code } : {}), error: redact(message.slice(0, 2_000)), durationMs: Date.now() - started, dryRun: false };
  }
}
