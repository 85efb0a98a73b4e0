/** Whether this process runs in a pod (kept apart from the heavy Kubernetes client, loaded lazily). */
export function inCluster(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT);
}
