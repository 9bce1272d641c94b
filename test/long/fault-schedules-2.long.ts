/**
 * `npm run test:long`: the property of test/sim/fault-schedules.test.ts with NUM_RUNS_LONG (200)
 * generated fault schedules per example; the examples are split over two files, which mocha's
 * --parallel runs side by side.
 */
import { NUM_RUNS_LONG, PROPERTY_EXAMPLES, checkExample } from '../helpers/fault-schedules.ts';

const PART = 2;

describe(`every invariant holds under ${NUM_RUNS_LONG} generated fault schedules (part ${PART} of 2)`, function () {
  this.timeout(0);
  for (const example of PROPERTY_EXAMPLES.filter((_, i) => i % 2 === PART - 1)) {
    it(`${example}: ${NUM_RUNS_LONG} generated schedules`, () => checkExample(example, NUM_RUNS_LONG));
  }
});
