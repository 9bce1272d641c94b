import { expect } from 'chai';
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
});
