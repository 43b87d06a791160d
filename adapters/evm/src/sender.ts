/**
 * Sending the delivery account's transactions, one at a time: the adapter keeps the account's next
 * nonce itself (re-reading it from the node after anything that leaves it in doubt), signs each
 * transaction once — so repeating a broadcast after a transport failure can only ever land the same
 * transaction — and waits for its receipt up to the configured time.
 */
import { AdapterError } from "@shandu/adapter-core";
import type { TransactionReceipt, TransactionRequest, Wallet } from "ethers";
import { Transaction } from "ethers";
import { classifyRpcError, toAdapterError } from "./errors.ts";
import { type EvmRpc, sleep } from "./rpc.ts";

export interface SenderOptions {
  evmChainId: bigint;
  gas: { limitMultiplier: number; maxFeePerGasWei?: bigint | undefined; maxPriorityFeePerGasWei?: bigint | undefined };
  pollIntervalMs: number;
  submissionTimeoutMs: number;
  maxRetries: number;
}

/** A contract call to send: the gas the node estimated for it, before the safety margin. */
export interface OutgoingCall {
  to: string;
  data: string;
  gasEstimate: bigint;
}

type Fees =
  | { type: 2; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint; gasPrice?: undefined }
  | { type: 0; gasPrice: bigint; maxFeePerGas?: undefined };

/** Serialises async work: each `run` starts after the previous one settled. */
export class Mutex {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}

export class TxSender {
  readonly #rpc: EvmRpc;
  readonly #wallet: Wallet;
  readonly #opts: SenderOptions;
  /** The next nonce to use, or `null` to read it from the node. */
  #nonce: bigint | null = null;

  constructor(rpc: EvmRpc, wallet: Wallet, opts: SenderOptions) {
    this.#rpc = rpc;
    this.#wallet = wallet;
    this.#opts = opts;
  }

  get address(): string {
    return this.#wallet.address;
  }

  /** `estimate × limitMultiplier`, rounded up. */
  gasLimit(estimate: bigint): bigint {
    const permille = BigInt(Math.round(this.#opts.gas.limitMultiplier * 1000));
    return (estimate * permille + 999n) / 1000n;
  }

  /**
   * Signs, broadcasts and waits for `call`'s receipt (which may show a revert: `status` 0). The caller
   * holds the adapter's mutex. Throws `CANCELLED` (only before broadcasting), `INSUFFICIENT_FUNDS`,
   * `RPC_*`, `SUBMISSION_TIMEOUT` (sent, outcome unknown — also when `signal` aborts after sending),
   * `CLOSED`.
   */
  async send(what: string, call: OutgoingCall, signal: AbortSignal): Promise<TransactionReceipt> {
    const gasLimit = this.gasLimit(call.gasEstimate);
    const fees = await this.#fees(signal);
    const balance = await this.#rpc.request("account balance", (p) => p.getBalance(this.address), signal);
    const maxCost = gasLimit * (fees.maxFeePerGas ?? fees.gasPrice ?? 0n);
    if (balance < maxCost) {
      throw new AdapterError("INSUFFICIENT_FUNDS", `${what}: the delivery account cannot pay for the transaction`, {
        facts: { account: this.address, balanceWei: balance, neededWei: maxCost, gasLimit },
      });
    }
    let hash: string | undefined;
    for (let attempt = 0; hash === undefined; attempt++) {
      const nonce =
        this.#nonce ?? BigInt(await this.#rpc.request("account nonce", (p) => p.getTransactionCount(this.address, "pending"), signal));
      const tx: TransactionRequest = {
        chainId: this.#opts.evmChainId,
        nonce: Number(nonce),
        to: call.to,
        data: call.data,
        gasLimit,
        value: 0n,
        ...fees,
      };
      const signed = await this.#wallet.signTransaction(tx);
      const txHash = Transaction.from(signed).hash!;
      if (signal.aborted) throw new AdapterError("CANCELLED", `${what}: cancelled before sending`, { cause: signal.reason });
      try {
        await this.#rpc.request(`${what}: broadcast`, (p) => p.send("eth_sendRawTransaction", [signed]), undefined, { txHash });
        hash = txHash;
      } catch (err) {
        if (err instanceof AdapterError) {
          this.#nonce = null;
          throw err;
        }
        const failure = classifyRpcError(err);
        if (failure === "known") {
          hash = txHash;
        } else if (failure === "nonce" && attempt < this.#opts.maxRetries) {
          // Either an earlier attempt of this very transaction got in, or another sender used the nonce.
          this.#nonce = null;
          const seen = await this.#rpc.request("transaction lookup", (p) => p.getTransaction(txHash), signal);
          if (seen) hash = txHash;
        } else {
          this.#nonce = null;
          throw toAdapterError(err, `${what}: broadcast`, { txHash, nonce });
        }
      }
      if (hash !== undefined) this.#nonce = nonce + 1n;
    }
    return this.#waitForReceipt(what, hash, signal);
  }

  async #fees(signal: AbortSignal): Promise<Fees> {
    const cfg = this.#opts.gas;
    const fd = await this.#rpc.request("fee data", (p) => p.getFeeData(), signal);
    if (fd.maxFeePerGas !== null) {
      const maxFeePerGas = cfg.maxFeePerGasWei ?? fd.maxFeePerGas;
      const tip = cfg.maxPriorityFeePerGasWei ?? fd.maxPriorityFeePerGas ?? 0n;
      return { type: 2, maxFeePerGas, maxPriorityFeePerGas: tip < maxFeePerGas ? tip : maxFeePerGas };
    }
    const price = fd.gasPrice ?? 0n;
    return { type: 0, gasPrice: cfg.maxFeePerGasWei !== undefined && cfg.maxFeePerGasWei < price ? cfg.maxFeePerGasWei : price };
  }

  async #waitForReceipt(what: string, txHash: string, signal: AbortSignal): Promise<TransactionReceipt> {
    const deadline = Date.now() + this.#opts.submissionTimeoutMs;
    const timeout = (cancelled: boolean, cause?: unknown): AdapterError => {
      // The transaction may still be mined, or dropped: read the nonce from the node next time.
      this.#nonce = null;
      return new AdapterError("SUBMISSION_TIMEOUT", `${what}: no receipt ${cancelled ? "before cancellation" : "in time"}`, {
        facts: { txHash, timeoutMs: this.#opts.submissionTimeoutMs, cancelled },
        cause,
      });
    };
    for (;;) {
      if (signal.aborted) throw timeout(true, signal.reason);
      let receipt: TransactionReceipt | null = null;
      try {
        receipt = await this.#rpc.request(`${what}: receipt`, (p) => p.getTransactionReceipt(txHash), signal, { txHash });
      } catch (err) {
        if (err instanceof AdapterError && err.code === "CANCELLED") throw timeout(true, err);
        if (err instanceof AdapterError && err.code === "CLOSED") throw err;
        // The node is away or confused for a while: the transaction is out, so keep asking until the deadline.
      }
      if (receipt) return receipt;
      const left = deadline - Date.now();
      if (left <= 0) throw timeout(false);
      await sleep(Math.min(this.#opts.pollIntervalMs, left), signal);
    }
  }
}
