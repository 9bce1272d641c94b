/**
 * The work queue of src/workqueue.ts, as client-go's util/workqueue behaves, on a FakePort whose
 * timers stand in for the simulation clock.
 */
import { expect } from 'chai';
import { ControllerRateLimiter, WorkQueue } from '../../src/workqueue.ts';
import type { Component } from '../../src/component.ts';
import { FakePort } from '../helpers/fake-port.ts';

interface Harness {
  port: FakePort;
  queue: WorkQueue;
  /** Keys handed to a worker, with the instant: `a@0`. */
  seen: string[];
  /** Unfinished syncs by key: call to finish (with an error to retry). */
  open: Map<string, (err?: string) => void>;
  run(untilMs: number): void;
}

/** `busyMs`: the processing time (busyFor) of the n-th sync (from 1). */
function harness(opts: { workers?: number; fail?: (key: string) => boolean; async?: boolean; maxRetries?: number; paused?: boolean; busyMs?: (n: number) => number } = {}): Harness {
  const port = new FakePort('ctrl');
  const seen: string[] = [];
  const open = new Map<string, (err?: string) => void>();
  const queue = new WorkQueue(port, {
    name: 'q',
    workers: opts.workers ?? 1,
    ...(opts.maxRetries !== undefined ? { maxRetries: opts.maxRetries } : {}),
    ...(opts.paused ? { paused: true } : {}),
    process: (key, done) => {
      seen.push(`${key}@${port.nowMs}`);
      const busy = opts.busyMs?.(seen.length) ?? 0;
      if (busy > 0) queue.busyFor(key, busy);
      if (opts.async) open.set(key, done);
      else done(opts.fail?.(key) ? 'boom' : undefined);
    },
  });
  const owner: Component = { receive: () => {}, timer: (k) => void queue.timer(k) };
  return { port, queue, seen, open, run: (untilMs) => { while (port.fireDue(owner, untilMs)); } };
}

describe('work queue (client-go util/workqueue)', () => {
  it('a key added several times while it waits is processed once', () => {
    const h = harness();
    h.queue.add('a');
    h.queue.add('b');
    h.queue.add('a');
    h.run(0);
    expect(h.seen).to.deep.equal(['a@0', 'b@0']);
  });

  it('a key being processed is not handed to a second worker; added meanwhile, it is processed once more after', () => {
    const h = harness({ workers: 2, async: true });
    h.queue.add('a');
    h.run(0);
    h.queue.add('a');
    h.queue.add('a');
    h.run(10);
    expect(h.seen).to.deep.equal(['a@0']);
    h.port.nowMs = 20;
    h.open.get('a')!();
    h.run(20);
    expect(h.seen).to.deep.equal(['a@0', 'a@20']);
  });

  it('at most `workers` keys are processed at once', () => {
    const h = harness({ workers: 2, async: true });
    for (const k of ['a', 'b', 'c']) h.queue.add(k);
    h.run(0);
    expect(h.seen).to.deep.equal(['a@0', 'b@0']);
    h.port.nowMs = 5;
    h.open.get('a')!();
    h.run(5);
    expect(h.seen).to.deep.equal(['a@0', 'b@0', 'c@5']);
  });

  it('a failing key is retried with DefaultControllerRateLimiter: 5 ms, 10 ms, 20 ms ...; success forgets its failures', () => {
    let failures = 3;
    const h = harness({ fail: () => failures-- > 0 });
    h.queue.add('a');
    h.run(1_000);
    expect(h.seen).to.deep.equal(['a@0', 'a@5', 'a@15', 'a@35']);
    expect(h.queue.rateLimiter.numRequeues('a')).to.equal(0);
  });

  it('the per-item backoff is capped at 1000 s', () => {
    const r = new ControllerRateLimiter();
    let last = 0;
    for (let i = 0; i < 40; i++) last = r.when('a', i * 10_000_000);
    expect(last).to.equal(1_000_000);
  });

  it('the overall bucket allows a burst of 100, then 10 per second', () => {
    const r = new ControllerRateLimiter();
    const delays = Array.from({ length: 102 }, (_, i) => r.when(`k${i}`, 0));
    expect(delays.slice(0, 100).every((d) => d === 5)).to.equal(true);
    expect(delays[100]).to.equal(100);
    expect(delays[101]).to.equal(200);
  });

  it('a controller with maxRetries drops a key that keeps failing', () => {
    const h = harness({ fail: () => true, maxRetries: 2 });
    h.queue.add('a');
    h.run(1_000_000);
    expect(h.seen).to.deep.equal(['a@0', 'a@5', 'a@15']);
  });

  it('addAfter keeps the earliest instant a key is wanted at', () => {
    const h = harness();
    h.queue.addAfter('a', 1_000);
    h.queue.addAfter('a', 300);
    h.queue.addAfter('a', 2_000);
    h.run(5_000);
    expect(h.seen).to.deep.equal(['a@300']);
  });

  it('a paused queue (caches not synced yet) hands out nothing until it runs', () => {
    const h = harness({ paused: true });
    h.queue.add('a');
    h.run(1_000);
    expect(h.seen).to.deep.equal([]);
    h.port.nowMs = 1_000;
    h.queue.run();
    h.run(1_000);
    expect(h.seen).to.deep.equal(['a@1000']);
  });

  it('a sync that takes processing time (busyFor) holds its key that long: adds meanwhile fold into one sync after it', () => {
    const h = harness({ busyMs: () => 10 });
    h.queue.add('a');
    h.run(0);
    for (const t of [2, 5, 9]) {
      h.run(t);
      h.port.nowMs = t;
      h.queue.add('a');
    }
    h.run(100);
    expect(h.seen).to.deep.equal(['a@0', 'a@10']);
  });

  const busy: [string, number, string[]][] = [
    ['under 1 ms of processing is no time: the next add is processed at once', 0.9, ['a@0', 'a@1']],
    ['2.5 ms of processing counts as 2 whole milliseconds', 2.5, ['a@0', 'a@2']],
  ];
  for (const [name, ms, want] of busy) {
    it(name, () => {
      const h = harness({ busyMs: (n) => (n === 1 ? ms : 0) });
      h.queue.add('a');
      h.run(0);
      h.port.nowMs = 1;
      h.queue.add('a');
      h.run(100);
      expect(h.seen).to.deep.equal(want);
    });
  }
});
