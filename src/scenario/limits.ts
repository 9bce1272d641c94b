/**
 * ksim's own limits on what it accepts (docs/input.md says why each is what it is). Where
 * Kubernetes has a limit of its own (int32 fields, name lengths, the validation of each field)
 * that limit applies instead; these bound what Kubernetes leaves open and a simulation on one
 * machine cannot: file size, nesting, object count, simulated time, timer periods and work.
 */

/** Largest scenario file read (bytes). kube-apiserver takes request bodies of at most 3 MiB. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Most YAML documents in one file. */
export const MAX_DOCUMENTS = 10_000;

/** Deepest nesting of mappings and lists (the deepest v1.30 manifest needs about 20 levels). */
export const MAX_DEPTH = 64;

/** Most problems printed for one file; the rest are counted. */
export const MAX_PROBLEMS = 50;

/**
 * Most objects of one kind a run may hold, and so the largest replicas a StatefulSet may ask for
 * (a StatefulSet of 100,000 replicas must still load: the scale work asks for that many pods).
 */
export const MAX_OBJECTS = 250_000;

/** Longest simulated time of a run, and so the longest duration a scenario may name (30 days). */
export const MAX_DURATION_MS = 30 * 24 * 3_600_000;

/**
 * Shortest period of a periodic timing (lease renewal, resyncs, reconciler loops): a loop that
 * fires every nanosecond would run forever at t=0.
 */
export const MIN_PERIOD_MS = 10;

/**
 * Default budget of simulation steps per run (each timer the clock runs: a message delivery, an
 * actor's timer, an action); `ksim run --max-steps` raises it. A three-replica StatefulSet for
 * ten simulated minutes takes about 700 steps, a 1,000-replica one about 200,000.
 */
export const DEFAULT_MAX_STEPS = 20_000_000;
