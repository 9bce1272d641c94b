/** Calls awaiting replies: deadlines on one timer, fired in order, none while idle. */
import { expect } from 'chai';
import { Calls } from '../../src/calls.ts';
import { FakePort } from '../helpers/fake-port.ts';

interface Reply {
  reqId: string;
  ok: boolean;
}

/** Fires the port's due timers in deadline order, as the simulation clock would. */
function advance(port: FakePort, calls: Calls<Reply>, toMs: number): void {
  for (;;) {
    const due = [...port.timers].filter(([, at]) => at <= toMs).sort((a, b) => a[1] - b[1])[0];
    if (!due) break;
    port.nowMs = due[1];
    port.timers.delete(due[0]);
    calls.timer(due[0]);
  }
  port.nowMs = toMs;
}

describe('calls awaiting replies (src/calls.ts)', () => {
  it('a call without a reply times out at its deadline, not before', () => {
    const port = new FakePort();
    const calls = new Calls<Reply>(port, 'api-timeout');
    const log: string[] = [];
    calls.await('a', () => log.push('a replied'), 60_000, () => log.push(`a timed out at ${port.nowMs}`));
    advance(port, calls, 59_999);
    expect(log).to.deep.equal([]);
    advance(port, calls, 60_000);
    expect(log).to.deep.equal(['a timed out at 60000']);
    expect(calls.size).to.equal(0);
    expect(port.timers.size, 'nothing left to wait for').to.equal(0);
  });

  it('calls time out in deadline order, equal deadlines in the order they were made', () => {
    const port = new FakePort();
    const calls = new Calls<Reply>(port, 'api-timeout');
    const log: string[] = [];
    port.nowMs = 0;
    calls.await('late', () => undefined, 30_000, () => log.push(`late ${port.nowMs}`));
    port.nowMs = 1_000;
    calls.await('b', () => undefined, 10_000, () => log.push(`b ${port.nowMs}`));
    calls.await('c', () => undefined, 10_000, () => log.push(`c ${port.nowMs}`));
    calls.await('early', () => undefined, 5_000, () => log.push(`early ${port.nowMs}`));
    advance(port, calls, 60_000);
    expect(log).to.deep.equal(['early 6000', 'b 11000', 'c 11000', 'late 30000']);
  });

  it('an answered call does not time out, and a late or repeated reply is ignored', () => {
    const port = new FakePort();
    const calls = new Calls<Reply>(port, 'csi-timeout');
    const log: string[] = [];
    calls.await('a', (r) => log.push(`a ok=${r.ok}`), 15_000, () => log.push('a timed out'));
    calls.await('b', (r) => log.push(`b ok=${r.ok}`), 15_000, () => log.push('b timed out'));
    port.nowMs = 10;
    expect(calls.resolve({ reqId: 'a', ok: true })).to.equal(true);
    expect(calls.resolve({ reqId: 'a', ok: true })).to.equal(false);
    expect(port.timers.size, 'b still waits').to.equal(1);
    advance(port, calls, 20_000);
    expect(calls.resolve({ reqId: 'b', ok: true })).to.equal(false);
    expect(log).to.deep.equal(['a ok=true', 'b timed out']);
  });

  it('an owner with no call waiting has no timer; a reply that makes the next call keeps it', () => {
    const port = new FakePort();
    const calls = new Calls<Reply>(port, 'api-timeout');
    const log: string[] = [];
    calls.await('1', () => calls.await('2', () => log.push('2 replied'), 60_000, () => log.push('2 timed out')), 60_000, () => log.push('1 timed out'));
    port.nowMs = 5;
    calls.resolve({ reqId: '1', ok: true });
    expect(port.timers.size, 'call 2 waits').to.equal(1);
    port.nowMs = 10;
    calls.resolve({ reqId: '2', ok: true });
    expect(port.timers.size, 'idle').to.equal(0);
    expect(log).to.deep.equal(['2 replied']);
  });

  it('a deadline is kept after the call before it was answered', () => {
    const port = new FakePort();
    const calls = new Calls<Reply>(port, 'api-timeout');
    const log: string[] = [];
    calls.await('a', () => undefined, 60_000, () => log.push(`a ${port.nowMs}`));
    port.nowMs = 100;
    calls.await('b', () => undefined, 60_000, () => log.push(`b ${port.nowMs}`));
    port.nowMs = 200;
    calls.resolve({ reqId: 'a', ok: true });
    advance(port, calls, 120_000);
    expect(log).to.deep.equal(['b 60100']);
  });
});
