import { expect } from 'chai';
import fc from 'fast-check';
import { SimClock } from '../../src/clock.ts';

describe('simulated clock', () => {
  it('runs timers in deadline order', () => {
    const c = new SimClock();
    const seen: string[] = [];
    c.setTimeout(() => seen.push('b@20'), 20);
    c.setTimeout(() => seen.push('a@10'), 10);
    c.setTimeout(() => seen.push('c@30'), 30);
    c.runUntil(100);
    expect(seen).to.deep.equal(['a@10', 'b@20', 'c@30']);
    expect(c.nowMs).to.equal(100);
  });

  it('equal deadlines run in the order they were scheduled', () => {
    const c = new SimClock();
    const seen: number[] = [];
    for (let i = 0; i < 50; i++) c.at(5, () => seen.push(i));
    c.runUntil(5);
    expect(seen).to.deep.equal([...Array(50).keys()]);
  });

  it('a cleared timer never runs', () => {
    const c = new SimClock();
    let ran = false;
    const t = c.setTimeout(() => (ran = true), 10);
    c.clearTimeout(t);
    c.runUntil(20);
    expect(ran).to.equal(false);
  });

  it('a timer scheduled by a timer for the same instant runs after those already due', () => {
    const c = new SimClock();
    const seen: string[] = [];
    c.at(10, () => {
      seen.push('first');
      c.at(10, () => seen.push('chained'));
    });
    c.at(10, () => seen.push('second'));
    c.runUntil(10);
    expect(seen).to.deep.equal(['first', 'second', 'chained']);
  });

  it('runUntil leaves later timers pending', () => {
    const c = new SimClock();
    c.setTimeout(() => {}, 500);
    c.runUntil(100);
    expect(c.nextDueMs()).to.equal(500);
  });

  it('any mix of timers, clears and chained timers runs in (deadline, scheduling) order', () => {
    // Reference: a stable sort by deadline of the live timers, scheduling order breaking ties.
    const op = fc.record({ at: fc.integer({ min: 0, max: 40 }), clear: fc.boolean(), chain: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const c = new SimClock();
        const seen: number[] = [];
        const expected: { at: number; seq: number }[] = [];
        let seq = 0;
        const schedule = (at: number, chain: number | undefined, clear: boolean): void => {
          const id = seq++;
          const t = c.at(at, () => {
            seen.push(id);
            if (chain !== undefined) schedule(c.nowMs + chain, undefined, false);
          });
          if (clear) c.clearTimeout(t);
          else expected.push({ at: Math.max(at, c.nowMs), seq: id });
        };
        for (const o of ops) schedule(o.at, o.chain, o.clear);
        c.runUntil(1_000);
        const order = expected.sort((a, b) => a.at - b.at || a.seq - b.seq).map((e) => e.seq);
        expect(seen).to.deep.equal(order);
      }),
    );
  });
});
