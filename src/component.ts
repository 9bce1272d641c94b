/**
 * The shape every cluster component takes: an XState v5 machine (`componentMachine`) wrapped
 * around a plain object (`Component`) that owns the component's memory and reacts to messages
 * and timers. The machine holds the lifecycle — `running` and `down` (crashed: memory lost,
 * timers cancelled, messages ignored). Timer requests are entries on the simulation clock that
 * send the actor a `timer` event when due (XState's own delayed-event scheduler adds per-event
 * bookkeeping and a Date.now() stamp to every timer: measurably slower, and a wall-clock read).
 * The plain object can be unit-tested without XState.
 *
 * A component talks to the rest of the world only through its `Port`: `send` puts a message
 * on the bus (so the fault injector sees it), `setTimer` asks for a delayed `timer(key)` call.
 */
import { createActor, setup, type ActorRefFrom, type AnyActorRef } from 'xstate';
import type { SimClock, Timer } from './clock.ts';
import type { Rng } from './rng.ts';
import type { Ids } from './ids.ts';
import type { Msg } from './protocol.ts';

export interface Port {
  readonly address: string;
  /** Simulated milliseconds since the scenario's start. */
  now(): number;
  /** RFC 3339 timestamp of the current simulated instant, as the API server writes them. */
  nowIso(): string;
  send(to: string, msg: Msg): void;
  /** (Re)arms the timer `key`: `timer(key)` runs after `delayMs`. */
  setTimer(key: string, delayMs: number): void;
  cancelTimer(key: string): void;
  readonly rng: Rng;
  readonly ids: Ids;
  /**
   * How many times the process has started (1, then 2 after its first restart ...). Ids a
   * process numbers from a counter in its memory (request ids, watch ids) carry it after a
   * restart, so that an answer or a watch event meant for the process before its crash is never
   * taken for one of the new process's own (a real process gets new connections).
   */
  readonly boots?: number;
  /** Adds a line to the trace (state changes worth seeing in a timeline). */
  note(detail: string): void;
}

/** `<base>` on a process's first start, `<base>.<boots>` after a restart (Port.boots). */
export function perBoot(port: Port, base: string): string {
  return (port.boots ?? 1) > 1 ? `${base}.${port.boots}` : base;
}

/**
 * A fault that strikes inside a process (SPEC §1: a DNS server failing, a node's clock off, a
 * storage system answering CSI calls with errors), delivered by the fault injector as a crash
 * is: not a message of the cluster. `streamKey` names the fault's own random stream (the
 * component forks it from its port's stream), so that its draws shift no one else's.
 */
export interface FaultSignal {
  name: string;
  /** Off when false: the fault healed. */
  on: boolean;
  streamKey?: string;
  [param: string]: unknown;
}

export interface Component {
  /** Runs when the actor starts, and again after a restart (with fresh memory). */
  start?(): void;
  /** A fault strikes (or heals) inside this process. */
  fault?(f: FaultSignal): void;
  /** Runs when the actor crashes: lets go of what outlives its memory (a store subscription). */
  stop?(): void;
  receive(msg: Msg, from: string): void;
  timer?(key: string): void;
}

export type ComponentFactory = (port: Port) => Component;

type TimerOp = { key: string; delayMs: number } | { key: string; cancel: true };

interface PortHost {
  clock: SimClock;
  startMs: number;
  /** RFC 3339 of the current simulated second, shared by every port of the world. */
  iso(): string;
  send(from: string, to: string, msg: Msg): void;
  trace(atMs: number, kind: string, actor: string, detail: string): void;
}

class PortImpl implements Port {
  ops: TimerOp[] = [];
  boots = 0;
  /** Armed timers by key: their clock entries, cancelled on re-arm, cancel and crash. */
  readonly armed = new Map<string, Timer>();
  constructor(
    readonly address: string,
    readonly host: PortHost,
    readonly rng: Rng,
    readonly ids: Ids,
  ) {}
  now(): number {
    return this.host.clock.nowMs;
  }
  nowIso(): string {
    return this.host.iso();
  }
  send(to: string, msg: Msg): void {
    this.host.send(this.address, to, msg);
  }
  setTimer(key: string, delayMs: number): void {
    this.ops.push({ key, delayMs: Math.max(0, Math.round(delayMs)) });
  }
  cancelTimer(key: string): void {
    this.ops.push({ key, cancel: true });
  }
  note(detail: string): void {
    this.host.trace(this.host.clock.nowMs, 'S', this.address, detail);
  }
}

/**
 * A per-clock cache of the current second's RFC 3339 text: timestamps have seconds precision,
 * and many components stamp objects within the same simulated second.
 */
export function isoClock(clock: SimClock, startMs: number): () => string {
  let sec = -1;
  let text = '';
  return () => {
    const s = Math.floor(clock.nowMs / 1000);
    if (s !== sec) {
      sec = s;
      text = isoAt(startMs, clock.nowMs);
    }
    return text;
  };
}

const DAY_MS = 86_400_000;
/** The last day formatted (`YYYY-MM-DDT`): a pure cache, so isoAt is formatted digit by digit. */
let cachedDay = NaN;
let cachedDayText = '';
const pad2 = (n: number): string => (n < 10 ? '0' + n : String(n));

/** RFC 3339 (seconds precision, as metav1.Time marshals) of a simulated instant. */
export function isoAt(startMs: number, atMs: number): string {
  const t = startMs + atMs;
  const day = Math.floor(t / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDayText = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  const sec = Math.floor((t - day * DAY_MS) / 1000);
  return `${cachedDayText}${pad2(Math.floor(sec / 3600))}:${pad2(Math.floor(sec / 60) % 60)}:${pad2(sec % 60)}Z`;
}

interface Ctx {
  make: ComponentFactory;
  port: PortImpl;
  impl: Component | undefined;
}

type Ev =
  | { type: 'deliver'; msg: Msg; from: string; more?: () => { msg: Msg; from: string } | undefined }
  | { type: 'timer'; key: string }
  | { type: 'fault'; fault: FaultSignal }
  | { type: 'crash' }
  | { type: 'restart' };

/** What a due timer needs: the actor to tell, and the event (one object per arming). */
interface TimerArg {
  port: PortImpl;
  self: AnyActorRef;
  event: { type: 'timer'; key: string };
}

function timerDue(arg: TimerArg): void {
  arg.port.armed.delete(arg.event.key);
  arg.self.send(arg.event);
}

/**
 * Applies the timer requests a component made while handling one event: each armed key is one
 * entry on the simulation clock (re-arming cancels the previous one), delivered to the actor as
 * a `timer` event, so timers and bus deliveries share the clock's single total order.
 */
function flushTimers(port: PortImpl, self: AnyActorRef): void {
  if (port.ops.length === 0) return;
  const ops = port.ops;
  port.ops = [];
  const clock = port.host.clock;
  for (const op of ops) {
    const armed = port.armed.get(op.key);
    if (armed) {
      clock.clearTimeout(armed);
      port.armed.delete(op.key);
    }
    if (!('cancel' in op)) {
      const arg: TimerArg = { port, self, event: { type: 'timer', key: op.key } };
      port.armed.set(op.key, clock.at(clock.nowMs + op.delayMs, timerDue, arg));
    }
  }
}

export const componentMachine = setup({
  types: {
    context: {} as Ctx,
    events: {} as Ev,
    input: {} as { make: ComponentFactory; port: PortImpl },
  },
  actions: {
    boot: ({ context, self }) => {
      context.port.ops = [];
      context.port.boots++;
      context.impl = context.make(context.port);
      context.impl.start?.();
      flushTimers(context.port, self);
    },
    deliver: ({ context, event, self }) => {
      if (event.type !== 'deliver') return;
      // `more` hands over the messages that follow this one at the same instant with nothing
      // between (Bus.chainNext): each is handled in turn, its timers armed, as if delivered alone.
      let msg = event.msg;
      let from = event.from;
      for (;;) {
        context.impl!.receive(msg, from);
        flushTimers(context.port, self);
        const next = event.more?.();
        if (next === undefined) break;
        msg = next.msg;
        from = next.from;
      }
    },
    fire: ({ context, event, self }) => {
      if (event.type !== 'timer') return;
      context.impl!.timer?.(event.key);
      flushTimers(context.port, self);
    },
    strike: ({ context, event, self }) => {
      if (event.type !== 'fault') return;
      context.impl!.fault?.(event.fault);
      flushTimers(context.port, self);
    },
    halt: ({ context }) => {
      context.impl?.stop?.();
      for (const timer of context.port.armed.values()) context.port.host.clock.clearTimeout(timer);
      context.port.armed.clear();
      context.port.ops = [];
      context.impl = undefined;
    },
  },
}).createMachine({
  id: 'component',
  context: ({ input }) => ({ make: input.make, port: input.port, impl: undefined }),
  initial: 'running',
  states: {
    running: {
      entry: 'boot',
      on: {
        deliver: { actions: 'deliver' },
        timer: { actions: 'fire' },
        fault: { actions: 'strike' },
        crash: { target: 'down' },
      },
    },
    down: {
      entry: 'halt',
      on: { restart: { target: 'running' } },
    },
  },
});

export type ComponentActor = ActorRefFrom<typeof componentMachine>;

export interface SpawnOptions {
  address: string;
  make: ComponentFactory;
  clock: SimClock;
  startMs: number;
  rng: Rng;
  ids: Ids;
  send(from: string, to: string, msg: Msg): void;
  trace(atMs: number, kind: string, actor: string, detail: string): void;
  onError(address: string, err: unknown): void;
  /** Shared RFC 3339 clock (isoClock); one is made per port when absent. */
  iso?: () => string;
}

/** Creates and starts one component actor on the simulation clock. */
export function spawnComponent(o: SpawnOptions): ComponentActor {
  const port = new PortImpl(o.address, { clock: o.clock, startMs: o.startMs, iso: o.iso ?? isoClock(o.clock, o.startMs), send: o.send, trace: o.trace }, o.rng, o.ids);
  const actor = createActor(componentMachine, {
    clock: o.clock,
    id: o.address,
    systemId: o.address,
    input: { make: o.make, port },
  });
  actor.subscribe({ error: (err) => o.onError(o.address, err) });
  actor.start();
  return actor;
}
