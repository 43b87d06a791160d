/**
 * A small timing harness for comparing implementations side by side on a shared, noisy machine.
 *
 * Each case is warmed up, then calibrated so one sample (a run of k calls) lasts about `sampleMs`. The
 * cases are then interleaved round by round (A, B, A, B … with the order rotated each round) until the
 * time budget is spent, so that background noise and frequency changes hit every case alike. Reported:
 * ops/s over all timed calls, mean time per call, and the median (p50) of the per-sample mean, which is
 * the figure least disturbed by a stray slow sample.
 */

export interface BenchCase {
  name: string;
  /** The operation. Its result is kept (see {@link sink}) so the call cannot be optimised away. */
  fn: () => unknown;
}

export interface CaseStats {
  name: string;
  /** Timed calls (warm-up excluded). */
  iterations: number;
  samples: number;
  totalMs: number;
  opsPerSec: number;
  meanUs: number;
  /** Median of the per-sample mean time per call. */
  p50Us: number;
  minUs: number;
}

export interface CompareOptions {
  /** Wall time for the timed, interleaved rounds (all cases together). */
  budgetMs: number;
  /** Target duration of one sample. Slow operations get one call per sample. */
  sampleMs?: number;
  /** Warm-up per case before calibration. */
  warmupMs?: number;
  /** Keep going past the budget until every case has this many samples. */
  minSamples?: number;
}

/** Results land here; exported so the optimiser must assume they are read. */
export let sink: unknown;

export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `fn` repeatedly for at least `ms` (and at least once); returns calls made and time taken. */
function runFor(fn: () => unknown, ms: number): { calls: number; elapsedMs: number } {
  const start = nowMs();
  let calls = 0;
  let elapsed = 0;
  do {
    sink = fn();
    calls++;
    elapsed = nowMs() - start;
  } while (elapsed < ms);
  return { calls, elapsedMs: elapsed };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length & 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** Measures the cases interleaved (see module docs). Results are in the order of `cases`. */
export function compare(cases: readonly BenchCase[], opts: CompareOptions): CaseStats[] {
  const sampleMs = opts.sampleMs ?? 20;
  const warmupMs = opts.warmupMs ?? 150;
  const minSamples = opts.minSamples ?? 5;

  const perCall = cases.map((c) => {
    const w = runFor(c.fn, warmupMs);
    return w.elapsedMs / w.calls;
  });
  const batch = perCall.map((t) => Math.max(1, Math.round(sampleMs / t)));
  const acc = cases.map(() => ({ iterations: 0, totalMs: 0, samples: [] as number[] }));

  const start = nowMs();
  for (let round = 0; ; round++) {
    for (let j = 0; j < cases.length; j++) {
      const i = (j + round) % cases.length;
      const fn = cases[i]!.fn;
      const k = batch[i]!;
      const t0 = nowMs();
      for (let n = 0; n < k; n++) sink = fn();
      const dt = nowMs() - t0;
      const a = acc[i]!;
      a.iterations += k;
      a.totalMs += dt;
      a.samples.push((dt * 1000) / k);
    }
    const done = nowMs() - start >= opts.budgetMs && acc.every((a) => a.samples.length >= minSamples);
    if (done) break;
  }

  return cases.map((c, i) => {
    const a = acc[i]!;
    return {
      name: c.name,
      iterations: a.iterations,
      samples: a.samples.length,
      totalMs: a.totalMs,
      opsPerSec: (a.iterations * 1000) / a.totalMs,
      meanUs: (a.totalMs * 1000) / a.iterations,
      p50Us: median(a.samples),
      minUs: Math.min(...a.samples),
    };
  });
}

/** Throws unless `fn()` returns `true`: every benchmarked check must also be a correct one. */
export function expectTrue(what: string, fn: () => unknown): void {
  const r = fn();
  if (r !== true) throw new Error(`benchmark precondition failed: ${what} returned ${String(r)}`);
}
