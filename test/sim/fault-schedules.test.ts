/**
 * Properties over generated fault schedules (fast-check, sim/arbitraries.ts faultSchedule): on
 * each example with a workload, every invariant holds whatever crashes, partitions and message
 * faults are drawn, within chaos's budget. A fixed fast-check seed makes the runs the same every
 * time; a failure names the seed and the faults to paste under spec.faults, shrunk by fast-check.
 * NUM_RUNS schedules per example here; test/long/fault-schedules*.long.ts draws 200.
 */
import { NUM_RUNS_SHORT, PROPERTY_EXAMPLES, checkExample } from '../helpers/fault-schedules.ts';

describe('every invariant holds under generated fault schedules', function () {
  this.timeout(180_000);
  for (const example of PROPERTY_EXAMPLES) {
    it(`${example}: ${NUM_RUNS_SHORT} generated schedules`, () => checkExample(example, NUM_RUNS_SHORT));
  }
});
