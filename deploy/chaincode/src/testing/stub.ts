/**
 * A test double of a Fabric peer's chaincode runtime, in memory: `FakeChaincodeStub` stands in for
 * fabric-shim's `ChaincodeStub` and `fakeContext` for fabric-contract-api's `Context`. It is not a peer and
 * runs no endorsement, ordering or validation; it models the parts of Fabric the chaincode's correctness
 * depends on:
 *
 * - world state, where `getState` returns the value committed before the transaction (never the
 *   transaction's own writes, as on a peer), and a per-transaction write set that is committed only when
 *   the transaction function returns and discarded when it throws;
 * - one chaincode event per transaction (a real peer silently keeps the last `setEvent`; the double throws
 *   on a second so that tests catch it);
 * - the transaction id (64 hex digits), the proposal timestamp, and the creator (MSP id and PEM
 *   certificate), also in the `getCreator`/`getBufferArgs` shapes fabric-shim's dispatcher reads.
 */
import { createHash } from "node:crypto";
import type { ChaincodeStubLike, ShanduContext } from "../state.ts";
import type { TestIdentity } from "./identities.ts";

export interface FakeEvent {
  name: string;
  payload: Uint8Array;
}

export interface FakeTransactionOptions {
  identity: TestIdentity;
  /** Proposal time, Unix seconds. */
  timeSeconds: bigint;
  /** Function name and string arguments, for fabric-shim's dispatcher (`getBufferArgs`). */
  args?: string[];
}

export class FakeChaincodeStub implements ChaincodeStubLike {
  readonly #committed: ReadonlyMap<string, Uint8Array>;
  readonly writes = new Map<string, Uint8Array | null>();
  readonly events: FakeEvent[] = [];
  readonly #txId: string;
  readonly #options: FakeTransactionOptions;

  constructor(committed: ReadonlyMap<string, Uint8Array>, txId: string, options: FakeTransactionOptions) {
    this.#committed = committed;
    this.#txId = txId;
    this.#options = options;
  }

  async getState(key: string): Promise<Uint8Array> {
    return Uint8Array.from(this.#committed.get(key) ?? new Uint8Array(0));
  }

  async putState(key: string, value: Uint8Array): Promise<void> {
    if (!(value instanceof Uint8Array)) throw new TypeError("putState takes bytes");
    this.writes.set(key, Uint8Array.from(value));
  }

  async deleteState(key: string): Promise<void> {
    this.writes.set(key, null);
  }

  setEvent(name: string, payload: Uint8Array): void {
    if (this.events.length > 0) throw new Error(`test double: a second chaincode event (${name}) in one transaction`);
    this.events.push({ name, payload: Uint8Array.from(payload) });
  }

  getTxID(): string {
    return this.#txId;
  }

  getChannelID(): string {
    return "shandu";
  }

  getTxTimestamp(): { seconds: { low: number; high: number; toString(): string }; nanos: number } {
    // A stand-in for the protobuf Long fabric-shim returns: only its decimal string is relied on.
    const s = this.#options.timeSeconds;
    return { seconds: { low: Number(s & 0xffff_ffffn), high: Number(s >> 32n), toString: () => s.toString() }, nanos: 0 };
  }

  getCreator(): { mspid: string; idBytes: Uint8Array } {
    return { mspid: this.#options.identity.mspId, idBytes: new TextEncoder().encode(this.#options.identity.certificatePem) };
  }

  getBufferArgs(): Buffer[] {
    return (this.#options.args ?? []).map((a) => Buffer.from(a));
  }

  getFunctionAndParameters(): { fcn: string; params: string[] } {
    const [fcn = "", ...params] = this.#options.args ?? [];
    return { fcn, params };
  }
}

/** fabric-contract-api's `Context` as far as the chaincode uses it, over the double's stub. */
export function fakeContext(stub: FakeChaincodeStub, identity: TestIdentity): ShanduContext {
  return {
    stub,
    clientIdentity: {
      getMSPID: () => identity.mspId,
      getIDBytes: () => new TextEncoder().encode(identity.certificatePem),
    },
  };
}

export interface FakeTransactionResult<T> {
  txId: string;
  ok: boolean;
  result?: T;
  error?: unknown;
  event?: FakeEvent;
}

/** The committed world state of one channel's chaincode, and the transactions run against it. */
export class FakeLedger {
  readonly state = new Map<string, Uint8Array>();
  readonly transactions: FakeTransactionResult<unknown>[] = [];
  #counter = 0;

  /**
   * Runs one transaction: `body` gets a fresh context; its writes and event are committed if it returns
   * and discarded if it throws. Never throws itself: the verdict is in the result.
   */
  async run<T>(
    options: FakeTransactionOptions,
    body: (ctx: ShanduContext, stub: FakeChaincodeStub) => Promise<T>,
  ): Promise<FakeTransactionResult<T>> {
    this.#counter++;
    const txId = createHash("sha256").update(`fake-tx-${this.#counter}`).digest("hex");
    const stub = new FakeChaincodeStub(new Map(this.state), txId, options);
    let out: FakeTransactionResult<T>;
    try {
      const result = await body(fakeContext(stub, options.identity), stub);
      for (const [k, v] of stub.writes) {
        if (v === null) this.state.delete(k);
        else this.state.set(k, v);
      }
      out = { txId, ok: true, result, ...(stub.events[0] ? { event: stub.events[0] } : {}) };
    } catch (error) {
      out = { txId, ok: false, error };
    }
    this.transactions.push(out);
    return out;
  }

  /** A snapshot of the committed state, for comparing before and after a refused transaction. */
  snapshot(): Map<string, string> {
    return new Map([...this.state].map(([k, v]) => [k, Buffer.from(v).toString("hex")]));
  }
}
