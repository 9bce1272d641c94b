/** Programmer errors: a failed assertion crashes the run (the world adds seed, time and trace). */
export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}
