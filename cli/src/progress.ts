import type { Output } from "./command.ts";

/**
 * A one-line progress bar for long runs, drawn on a terminal only (on anything else it writes
 * nothing, so logs and pipes stay clean). Redraws at most every `intervalMs`.
 */
export class ProgressBar {
  readonly #out: Output;
  readonly #total: number;
  readonly #label: string;
  readonly #intervalMs: number;
  readonly #startedMs = performance.now();
  #lastDrawMs = Number.NEGATIVE_INFINITY;
  #done = 0;
  #shown = false;

  constructor(out: Output, total: number, label: string, intervalMs = 80) {
    this.#out = out;
    this.#total = total;
    this.#label = label;
    this.#intervalMs = intervalMs;
  }

  /** Records `n` more items done and redraws if enough time has passed. */
  tick(n = 1): void {
    this.#done += n;
    const now = performance.now();
    if (now - this.#lastDrawMs >= this.#intervalMs || this.#done === this.#total) {
      this.#lastDrawMs = now;
      this.#draw(now);
    }
  }

  /** Removes the bar, e.g. before other text is written to the same terminal. It returns on the next tick. */
  clear(): void {
    if (!this.#shown) return;
    this.#out.write("\r\x1b[K");
    this.#shown = false;
    this.#lastDrawMs = Number.NEGATIVE_INFINITY;
  }

  #draw(nowMs: number): void {
    if (!this.#out.isTTY) return;
    const fraction = this.#total === 0 ? 1 : this.#done / this.#total;
    const perSecond = this.#done / Math.max((nowMs - this.#startedMs) / 1000, 1e-3);
    const tail = ` ${this.#done}/${this.#total} ${Math.floor(fraction * 100)}% ${Math.round(perSecond)}/s`;
    const width = Math.max(10, Math.min(40, (this.#out.columns || 80) - this.#label.length - tail.length - 4));
    const filled = Math.round(fraction * width);
    this.#out.write(`\r\x1b[K${this.#label} [${"#".repeat(filled)}${"-".repeat(width - filled)}]${tail}`);
    this.#shown = true;
  }
}
