/**
 * The library API (SPEC §7) for tests written by users: what `import ... from 'ksim'` gives.
 *
 *   const sim = Simulation.load('examples/statefulset-web.yaml', { seed: 7 });
 *   sim.runFor('2m');
 *   sim.exec('web-0').write('/usr/share/nginx/html/index.html', 'hello');
 *   sim.fault.crash('node/node-1', { for: '2m' });
 *   sim.runUntil((s) => s.get('Pod', 'web-0')?.status?.phase === 'Running', { timeout: '10m' });
 *   expect(sim.violations()).to.deep.equal([]);
 *
 * Property tests: `forAllSeeds` (sim/property.ts) runs a property over many seeds or over
 * fast-check's generated fault schedules (the arbitraries of sim/arbitraries.ts), and reports a
 * failure with its seed, the replay command and the shrunk fault list (sim/shrink.ts).
 */
export { Simulation, ScenarioError, type SimulationOptions } from './simulation.ts';
export {
  FaultError,
  type FaultControl,
  type FaultHandle,
  type Duration,
  type Host,
  type Between,
  type Lasting,
  type PartitionOptions,
  type ControllerName,
  type CsiRpc,
  type GrpcCode,
} from './fault-control.ts';
export { forAllSeeds, shrink, PropertyFailure, type Property, type ScenarioSource, type ForAllSeedsOptions, type ShrinkReport } from './property.ts';
export { faultSchedule, schedule, timed, nodeCrash, partition, messageFault, faultOfKind, type FaultScheduleOptions } from './arbitraries.ts';
export type { Failure } from './shrink.ts';
export type { ScriptedFault } from './fault-forms.ts';
export type { Report } from './run.ts';
export type { Violation } from './invariants/types.ts';
export type { Scenario, Fault, FaultKind } from '../src/scenario/types.ts';
export type { KObject } from '../src/protocol.ts';
