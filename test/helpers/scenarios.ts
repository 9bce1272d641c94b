/** Building blocks for scenario tests: the seed walkthroughs' manifests as YAML text. */

export const NGINX_SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: nginx
  labels: {app: nginx}
spec:
  ports:
  - port: 80
    name: web
  clusterIP: None
  selector:
    app: nginx
`;

export function webStatefulSet(opts: { replicas?: number; policy?: string; update?: string; partition?: number; claims?: string; storageClassName?: string } = {}): string {
  const update = opts.update === 'OnDelete' ? '  updateStrategy: {type: OnDelete}\n' : opts.partition !== undefined ? `  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: ${opts.partition}}}\n` : '';
  const claims = opts.claims
    ? `  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: [${opts.claims}]
${opts.storageClassName !== undefined ? `      storageClassName: "${opts.storageClassName}"\n` : ''}      resources:
        requests:
          storage: 1Gi
`
    : '';
  return `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: "nginx"
  replicas: ${opts.replicas ?? 2}
${opts.policy ? `  podManagementPolicy: ${opts.policy}\n` : ''}${update}  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.9.1
        ports:
        - containerPort: 80
          name: web
${opts.claims ? '        volumeMounts:\n        - name: www\n          mountPath: /usr/share/nginx/html\n' : ''}${claims}`;
}

export function scenarioDoc(spec: string, name = 'test'): string {
  return `apiVersion: ksim/v1
kind: Scenario
metadata:
  name: ${name}
spec:
${spec
  .split('\n')
  .map((l) => (l ? `  ${l}` : l))
  .join('\n')}
`;
}

export function yamlDocs(...docs: string[]): string {
  return docs.join('---\n');
}
