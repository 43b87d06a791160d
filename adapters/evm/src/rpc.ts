/**
 * The adapter's connection to its node: one ethers provider with a per-request timeout, repetition of
 * requests that failed in transport (exponential backoff), and cancellation by the caller's signal or
 * by closing the adapter. The node is trusted only as far as the adapter's callers say (see
 * `ChainAdapter`): nothing here checks what it answers.
 */
import { AdapterError } from "@shandu/adapter-core";
import type { ErrorFacts } from "@shandu/proofs";
import { FetchRequest, type Interface, JsonRpcProvider, Network, type Result } from "ethers";
import { classifyRpcError, isTransient, toAdapterError } from "./errors.ts";

export interface EvmRpcOptions {
  rpcUrl: string;
  evmChainId: bigint;
  rpcTimeoutMs: number;
  maxRetries: number;
  retryBackoffMs: number;
}

/** Resolves after `ms`, or as soon as `signal` aborts (without rejecting); leaves no timer behind. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

export class EvmRpc {
  readonly provider: JsonRpcProvider;
  readonly #opts: EvmRpcOptions;
  readonly #closing = new AbortController();

  constructor(opts: EvmRpcOptions) {
    this.#opts = opts;
    const request = new FetchRequest(opts.rpcUrl);
    request.timeout = opts.rpcTimeoutMs;
    // A static network: no background chain detection that would retry forever against a dead node; the
    // adapter asks for eth_chainId itself when it is created.
    this.provider = new JsonRpcProvider(request, Network.from(opts.evmChainId), {
      staticNetwork: true,
      batchMaxCount: 1,
      cacheTimeout: -1,
    });
  }

  /** Aborts when the adapter is closed. */
  get closed(): AbortSignal {
    return this.#closing.signal;
  }

  /**
   * Runs `fn` against the provider, repeating it after transport failures up to `maxRetries` times.
   * Throws `CLOSED` after {@link close}, `CANCELLED` when `signal` aborts, an `RPC_*` error when every
   * attempt failed in transport, and any other error of `fn` unchanged (reverts, for the caller to read).
   */
  async request<T>(what: string, fn: (provider: JsonRpcProvider) => Promise<T>, signal?: AbortSignal, facts: ErrorFacts = {}): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      this.#checkAborted(what, signal);
      try {
        return await this.#race(fn(this.provider), what, signal);
      } catch (err) {
        if (err instanceof AdapterError) throw err;
        this.#checkAborted(what, signal);
        if (!isTransient(classifyRpcError(err))) throw err;
        if (attempt >= this.#opts.maxRetries) throw toAdapterError(err, what, { ...facts, attempts: attempt + 1 });
        const stop = signal ? AbortSignal.any([signal, this.#closing.signal]) : this.#closing.signal;
        await sleep(this.#opts.retryBackoffMs * 2 ** attempt, stop);
      }
    }
  }

  /** Calls a view function of the contract at `to` and decodes its result. Reverts are thrown as ethers raised them. */
  async call(iface: Interface, to: string, fn: string, args: readonly unknown[], signal?: AbortSignal): Promise<Result> {
    const data = iface.encodeFunctionData(fn, args);
    const out = await this.request(`${fn}() at ${to}`, (p) => p.call({ to, data }), signal, { address: to });
    return iface.decodeFunctionResult(fn, out);
  }

  close(): void {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.provider.destroy();
  }

  #checkAborted(what: string, signal: AbortSignal | undefined): void {
    if (this.#closing.signal.aborted) throw new AdapterError("CLOSED", `${what}: the adapter is closed`);
    if (signal?.aborted) throw new AdapterError("CANCELLED", `${what}: cancelled`, { cause: signal.reason });
  }

  /** `p`, or `CLOSED` / `CANCELLED` as soon as the adapter closes or `signal` aborts (`p` is then ignored). */
  #race<T>(p: Promise<T>, what: string, signal: AbortSignal | undefined): Promise<T> {
    const signals = signal ? [this.#closing.signal, signal] : [this.#closing.signal];
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        cleanup();
        try {
          this.#checkAborted(what, signal);
        } catch (e) {
          reject(e);
        }
      };
      const cleanup = (): void => {
        for (const s of signals) s.removeEventListener("abort", onAbort);
      };
      for (const s of signals) s.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          cleanup();
          resolve(v);
        },
        (e) => {
          cleanup();
          reject(e);
        },
      );
    });
  }
}
