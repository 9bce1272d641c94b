/**
 * `ksim run`'s tables (SPEC §4): what `kubectl get pv,pvc,pod,sts,svc` prints, plus `sc` when
 * the cluster has StorageClasses and `nodes` when a node ended not Ready, cordoned or tainted,
 * with kubectl's columns.
 */
import { expect } from 'chai';
import { loadScenarioText } from '../../src/scenario/load.ts';
import { sha256Hasher } from '../../src/node-hash.ts';
import { Run } from '../../sim/run.ts';
import { renderDescribe, renderTables } from '../../sim/tables.ts';
import { NGINX_SERVICE, scenarioDoc, webStatefulSet, yamlDocs } from '../helpers/scenarios.ts';

const SC = `apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: slow, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
`;

function tables(yaml: string): string {
  const loaded = loadScenarioText(yaml, 'tables.yaml');
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const run = new Run(loaded.scenario, { hasher: sha256Hasher });
  return renderTables(run, run.run(), 'tables.yaml');
}

describe('ksim run tables', () => {
  const rows: { name: string; yaml: string; command: string; present: RegExp[]; absent: RegExp[] }[] = [
    {
      name: 'without StorageClasses and with every node Ready: pv,pvc,pod,sts,svc only',
      yaml: scenarioDoc('duration: 10s'),
      command: '$ kubectl get pv,pvc,pod,sts,svc -n default',
      present: [/service\/kubernetes\s+ClusterIP\s+10\.96\.0\.1/],
      absent: [/storageclass/, /node\/node-1/],
    },
    {
      name: 'a StorageClass adds sc, with kubectl get sc columns and the (default) mark',
      yaml: yamlDocs(SC, scenarioDoc('duration: 10s')),
      command: '$ kubectl get pv,pvc,pod,sts,svc,sc -n default',
      present: [/NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE/, /storageclass\.storage\.k8s\.io\/slow \(default\)\s+kubernetes\.io\/no-provisioner\s+Delete\s+WaitForFirstConsumer\s+false\s+10s/],
      absent: [/node\/node-1/],
    },
    {
      name: 'a cordoned node adds nodes, Ready,SchedulingDisabled',
      yaml: scenarioDoc('duration: 10s\nactions:\n  - {at: 1s, cordon: node/node-2}'),
      command: '$ kubectl get pv,pvc,pod,sts,svc,nodes -n default',
      present: [/NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/, /node\/node-1\s+Ready\s+<none>\s+10s\s+v1\.30\.0/, /node\/node-2\s+Ready,SchedulingDisabled\s+<none>/],
      absent: [/storageclass/],
    },
    {
      name: 'a tainted node adds nodes',
      yaml: scenarioDoc('duration: 10s\nactions:\n  - {at: 1s, taint: {node: node-3, key: dedicated, value: db, effect: NoSchedule}}'),
      command: '$ kubectl get pv,pvc,pod,sts,svc,nodes -n default',
      present: [/node\/node-3\s+Ready\s+<none>/],
      absent: [],
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const out = tables(row.yaml);
      expect(out.split('\n')[0]).to.equal(row.command);
      for (const re of row.present) expect(out).to.match(re);
      for (const re of row.absent) expect(out).to.not.match(re);
    });
  }

  it('kubectl describe service lists the ready endpoints of its EndpointSlices', () => {
    const loaded = loadScenarioText(yamlDocs(NGINX_SERVICE, webStatefulSet({ replicas: 2 }), scenarioDoc('duration: 2m')), 'tables.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const run = new Run(loaded.scenario, { hasher: sha256Hasher });
    run.run();
    const ips = ['web-0', 'web-1'].map((p) => run.world.store.get('Pod', 'default', p)!.status.podIP as string);
    const line = renderDescribe(run, 'service/nginx').text.split('\n').find((l) => l.startsWith('Endpoints:'));
    expect(line?.replace(/\s+/g, ' ')).to.equal(`Endpoints: ${ips.map((ip) => `${ip}:80`).join(',')}`);
  });
});
