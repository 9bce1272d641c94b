/**
 * `npm run test:long`: the property of test/sim/fault-schedules.test.ts with NUM_RUNS_LONG (200)
 * generated fault schedules per example, on the examples of npm test and those whose story is a
 * scripted fault; they are split over two files, which mocha's --parallel runs side by side.
 */
import { LONG_EXTRA_EXAMPLES, NUM_RUNS_LONG, PROPERTY_EXAMPLES, checkExample } from '../helpers/fault-schedules.ts';

const PART = 2;

describe(`every invariant holds under ${NUM_RUNS_LONG} generated fault schedules (part ${PART} of 2)`, function () {
  this.timeout(0);
  for (const example of [...PROPERTY_EXAMPLES, ...LONG_EXTRA_EXAMPLES].filter((_, i) => i % 2 === PART - 1)) {
    it(`${example}: ${NUM_RUNS_LONG} generated schedules`, () => checkExample(example, NUM_RUNS_LONG));
  }
});
