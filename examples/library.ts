/**
 * The library API (docs/library.md, SPEC §7) as a user's own script or test would use it:
 *
 *   npx tsx examples/library.ts
 *
 * It loads the StatefulSet storage walkthrough (statefulset-storage.yaml), writes a file through
 * web-0's volume, waits for the scenario to delete web-0 and for the StatefulSet to bring it
 * back, reads the file from the new pod, then runs the rest of the scenario and prints what it
 * found. Exit code 1 when the data is gone or an invariant broke.
 */
import { fileURLToPath } from 'node:url';
import { Simulation } from 'ksim';

const file = fileURLToPath(new URL('./statefulset-storage.yaml', import.meta.url));
const sim = Simulation.load(file, { seed: 7 });

sim.runFor('2m');
const written = sim.exec('web-0').write('/usr/share/nginx/html/library.txt', 'written from a script');
console.log(`write through web-0: ${written.ok ? 'ok' : written['error']}`);

// The scenario deletes web-0 at 3m; wait for its successor (a new uid) to run.
const first = sim.get('Pod', 'web-0')?.metadata.uid;
const back = sim.runUntil((s) => {
  const pod = s.get('Pod', 'web-0');
  return pod !== undefined && pod.metadata.uid !== first && pod.status?.phase === 'Running';
}, { timeout: '10m' });
console.log(`web-0 recreated and Running: ${back} (at ${sim.nowMs / 1000}s)`);

const read = sim.exec('web-0').read('/usr/share/nginx/html/library.txt');
console.log(`read through the new web-0: ${read.ok ? JSON.stringify(read['data']) : read['error']}`);

const report = sim.runScenario();
console.log(`violations: ${report.violations.length}, traceHash ${report.traceHash.slice(0, 16)}`);
process.exitCode = read.ok && read['data'] === 'written from a script' && report.violations.length === 0 ? 0 : 1;
