/**
 * The component wrapper: timers a component arms are entries on the simulation clock that reach
 * the actor as `timer` events; re-arming, cancelling and crashing behave as a component author
 * expects, and timers share the clock's one total order with bus deliveries.
 */
import { expect } from 'chai';
import { SimClock } from '../../src/clock.ts';
import { Rng } from '../../src/rng.ts';
import { Ids } from '../../src/ids.ts';
import { spawnComponent, type Component, type Port } from '../../src/component.ts';
import type { Msg } from '../../src/protocol.ts';

type Script = (port: Port, fired: string[]) => Component;

function spawn(script: Script) {
  const clock = new SimClock();
  const fired: string[] = [];
  const rng = Rng.root(1);
  const actor = spawnComponent({
    address: 'c',
    make: (port) => script(port, fired),
    clock,
    startMs: 0,
    rng,
    ids: new Ids(rng.fork('ids')),
    send: () => {},
    trace: () => {},
    onError: (_a, err) => {
      throw err;
    },
  });
  const poke = (what: string): void => actor.send({ type: 'deliver', msg: { type: 'user.action', index: 0, what } as unknown as Msg, from: 'test' });
  return { clock, fired, actor, poke };
}

/** A component that arms, re-arms or cancels timers when poked, and notes each firing. */
const scripted: Script = (port, fired) => ({
  start() {
    port.setTimer('a', 100);
  },
  receive(msg) {
    const what = (msg as unknown as { what: string }).what;
    const [verb, key, ms] = what.split(' ');
    if (verb === 'arm') port.setTimer(key!, Number(ms));
    else port.cancelTimer(key!);
  },
  timer(key) {
    fired.push(`${key}@${port.now()}`);
  },
});

describe('component timers', () => {
  it('a timer armed at start fires once, at its deadline', () => {
    const { clock, fired } = spawn(scripted);
    clock.runUntil(1_000);
    expect(fired).to.deep.equal(['a@100']);
  });

  it('re-arming a key moves its deadline: it fires once, at the new time', () => {
    const { clock, fired, poke } = spawn(scripted);
    clock.runUntil(50);
    poke('arm a 200');
    clock.runUntil(1_000);
    expect(fired).to.deep.equal(['a@250']);
  });

  it('a cancelled timer never fires; cancelling an unarmed key is harmless', () => {
    const { clock, fired, poke } = spawn(scripted);
    poke('cancel a');
    poke('cancel nothing');
    clock.runUntil(1_000);
    expect(fired).to.deep.equal([]);
  });

  it('a timer may be armed again from its own firing', () => {
    const { clock, fired } = spawn((port, f) => ({
      start: () => port.setTimer('tick', 10),
      receive: () => {},
      timer(key) {
        f.push(`${key}@${port.now()}`);
        if (port.now() < 30) port.setTimer('tick', 10);
      },
    }));
    clock.runUntil(1_000);
    expect(fired).to.deep.equal(['tick@10', 'tick@20', 'tick@30']);
  });

  it('timers due at the same instant fire in the order they were armed', () => {
    const { clock, fired, poke } = spawn(scripted);
    poke('arm z 100');
    poke('arm b 100');
    clock.runUntil(1_000);
    expect(fired).to.deep.equal(['a@100', 'z@100', 'b@100']);
  });

  it('a crashed component fires none of its timers; restarted, it starts afresh', () => {
    const { clock, fired, actor, poke } = spawn(scripted);
    poke('arm b 300');
    clock.runUntil(50);
    actor.send({ type: 'crash' });
    clock.runUntil(200);
    expect(fired).to.deep.equal([]);
    // Back before b's old deadline: only the new incarnation's own timer fires.
    actor.send({ type: 'restart' });
    clock.runUntil(1_000);
    expect(fired).to.deep.equal(['a@300']);
  });
});
