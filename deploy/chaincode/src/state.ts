/**
 * What every transaction of the chaincode stands on: the slice of Fabric's stub and client identity it
 * uses, a per-transaction state buffer, canonical JSON, the transaction's clock and the caller's sender
 * identity.
 *
 * Fabric semantics this file accounts for: `getState` returns the value committed before the transaction,
 * never the transaction's own writes; a transaction's writes and its (single) chaincode event are kept only
 * when the transaction function returns normally. So reads and writes go through {@link TxState}, which
 * gives read-your-writes and hands the write set to the stub only in {@link commit}, after every check: a
 * refusal throws before anything was written.
 */
import { ShanduError, sha256 } from "@shandu/proofs";
import { ChaincodeError } from "./errors.ts";

/** The part of fabric-shim's `ChaincodeStub` the chaincode uses. */
export interface ChaincodeStubLike {
  getState(key: string): Promise<Uint8Array>;
  putState(key: string, value: Uint8Array): Promise<void>;
  deleteState(key: string): Promise<void>;
  setEvent(name: string, payload: Uint8Array): void;
  getTxID(): string;
  /** Proposal timestamp set by the client and checked by endorsers; `seconds` is a protobuf Long. */
  getTxTimestamp(): { seconds: unknown; nanos: number };
}

/** The part of fabric-shim's `ClientIdentity` the chaincode uses. */
export interface ClientIdentityLike {
  getMSPID(): string;
  /** The creator's certificate as Fabric carries it: PEM text (`SerializedIdentity.id_bytes`). */
  getIDBytes(): Uint8Array;
}

/** The transaction context (fabric-contract-api's `Context`, as far as the chaincode reads it). */
export interface ShanduContext {
  stub: ChaincodeStubLike;
  clientIdentity: ClientIdentityLike;
}

type Value = Uint8Array | null;

/**
 * A transaction's view of world state with read-your-writes, and its pending event. A child (for one
 * recipient call) sees its parent's writes and merges its own into the parent only if the call succeeded.
 */
export class TxState {
  readonly #stub: ChaincodeStubLike;
  readonly #parent: TxState | undefined;
  readonly #reads = new Map<string, Value>();
  readonly #writes = new Map<string, Value>();

  constructor(stub: ChaincodeStubLike, parent?: TxState) {
    this.#stub = stub;
    this.#parent = parent;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = await this.#value(key);
    return v ?? undefined;
  }

  async #value(key: string): Promise<Value> {
    const w = this.#writes.get(key);
    if (w !== undefined) return w;
    if (this.#parent) return this.#parent.#value(key);
    const r = this.#reads.get(key);
    if (r !== undefined) return r;
    const got = await this.#stub.getState(key);
    const v = got && got.length > 0 ? Uint8Array.from(got) : null;
    this.#reads.set(key, v);
    return v;
  }

  put(key: string, value: Uint8Array): void {
    checkKey(key);
    this.#writes.set(key, value);
  }

  delete(key: string): void {
    checkKey(key);
    this.#writes.set(key, null);
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const b = await this.get(key);
    return b === undefined ? undefined : (JSON.parse(new TextDecoder().decode(b)) as T);
  }

  putJson(key: string, value: unknown): void {
    this.put(key, new TextEncoder().encode(canonicalJson(value)));
  }

  child(): TxState {
    return new TxState(this.#stub, this);
  }

  /** Moves a child's writes into its parent (the child's call succeeded). */
  mergeIntoParent(): void {
    if (!this.#parent) throw new ChaincodeError("INTERNAL", "only a child state merges into a parent");
    for (const [k, v] of this.#writes) this.#parent.#writes.set(k, v);
    this.#writes.clear();
  }

  /** Hands the write set to the stub, in key order (a deterministic order of calls). */
  async flush(): Promise<void> {
    if (this.#parent) throw new ChaincodeError("INTERNAL", "a child state is merged, not flushed");
    for (const k of [...this.#writes.keys()].sort()) {
      const v = this.#writes.get(k)!;
      if (v === null) await this.#stub.deleteState(k);
      else await this.#stub.putState(k, v);
      this.#reads.set(k, v);
    }
    this.#writes.clear();
  }
}

function checkKey(key: string): void {
  // Fabric refuses keys that are not UTF-8 and reserves keys starting with U+0000 for composite keys.
  if (key.length === 0 || key.charCodeAt(0) === 0 || !key.isWellFormed()) {
    throw new ChaincodeError("INTERNAL", "invalid state key", { facts: { key } });
  }
}

interface TxRecord {
  state: TxState;
  event: { name: string; payload: Uint8Array } | undefined;
  eventSet: boolean;
}

/** Per transaction (keyed by the stub Fabric creates for it): its state buffer and its event. */
const transactions = new WeakMap<ChaincodeStubLike, TxRecord>();

function record(ctx: ShanduContext): TxRecord {
  let r = transactions.get(ctx.stub);
  if (!r) {
    r = { state: new TxState(ctx.stub), event: undefined, eventSet: false };
    transactions.set(ctx.stub, r);
  }
  return r;
}

/** The transaction's state buffer (one per transaction, shared by both contracts). */
export function txState(ctx: ShanduContext): TxState {
  return record(ctx).state;
}

/**
 * Queues the transaction's chaincode event. Fabric keeps one event per transaction (a second `setEvent`
 * would silently replace the first), so a second one is refused with `EVENT_ALREADY_SET`.
 */
export function emitEvent(ctx: ShanduContext, name: string, payload: Uint8Array): void {
  const r = record(ctx);
  if (r.event || r.eventSet) {
    throw new ChaincodeError("EVENT_ALREADY_SET", "a Fabric transaction carries one chaincode event; this one already has one", {
      facts: { event: r.event?.name ?? "(set)", refused: name },
    });
  }
  r.event = { name, payload };
}

/** Ends a transaction that passed every check: writes its state and sets its event. */
export async function commit(ctx: ShanduContext): Promise<void> {
  const r = record(ctx);
  await r.state.flush();
  if (r.event) {
    ctx.stub.setEvent(r.event.name, r.event.payload);
    r.event = undefined;
    r.eventSet = true;
  }
}

/**
 * Runs a transaction body and commits it. Anything the body throws leaves the stub untouched (nothing was
 * written); protocol-core errors are rethrown as {@link ChaincodeError} with the same code.
 */
export async function transaction<T>(ctx: ShanduContext, body: (state: TxState) => Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await body(txState(ctx));
  } catch (e) {
    transactions.delete(ctx.stub);
    if (e instanceof ShanduError) throw new ChaincodeError(e.code, e.shortMessage, { facts: e.facts, cause: e });
    throw e;
  }
  await commit(ctx);
  return result;
}

/**
 * JSON with object keys sorted (by UTF-16 code units, recursively), no whitespace, bigints as decimal
 * strings and `undefined` members left out: one byte string per value, as every endorser must write.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (v instanceof Uint8Array) throw new ChaincodeError("INTERNAL", "bytes go into state as hex strings");
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** The transaction's time in Unix seconds: the proposal timestamp, the same on every endorser. */
export function txTimeSeconds(ctx: ShanduContext): bigint {
  const s = ctx.stub.getTxTimestamp().seconds;
  const text = typeof s === "object" && s !== null ? String(s) : String(s);
  if (!/^[0-9]{1,20}$/.test(text))
    throw new ChaincodeError("INVALID_TIMESTAMP", "the transaction timestamp is not a u64", { facts: { seconds: text } });
  return BigInt(text);
}

const PEM = /^-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END CERTIFICATE-----\r?\n?$/;

/** The DER bytes of the one certificate in a PEM text; throws `INVALID_CLIENT_IDENTITY` otherwise. */
export function certificateDer(idBytes: Uint8Array): Uint8Array {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(idBytes).trim();
  const m = PEM.exec(`${text}\n`);
  const b64 = m?.[1]?.replace(/[\r\n]/g, "");
  if (!b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new ChaincodeError("INVALID_CLIENT_IDENTITY", "the client identity is not one PEM certificate");
  }
  return new Uint8Array(Buffer.from(b64, "base64"));
}

/**
 * The 32-byte Shandu sender of a Fabric client: `SHA-256(mspId ‖ 0x00 ‖ certificate DER)`. The MSP id
 * is UTF-8 and cannot contain 0x00, so the pair is encoded unambiguously; the DER (not the PEM text) is
 * hashed so that line endings or PEM wrapping do not change the identity. A new certificate (renewal) is
 * a new sender.
 */
export function senderOfIdentity(mspId: string, idBytes: Uint8Array): Uint8Array {
  if (mspId.length === 0 || mspId.includes("\u0000") || !mspId.isWellFormed()) {
    throw new ChaincodeError("INVALID_CLIENT_IDENTITY", "the client's MSP id is empty or not text");
  }
  const msp = new TextEncoder().encode(mspId);
  const der = certificateDer(idBytes);
  const pre = new Uint8Array(msp.length + 1 + der.length);
  pre.set(msp, 0);
  pre.set(der, msp.length + 1);
  return sha256(pre);
}

/** The calling client's Shandu sender, see {@link senderOfIdentity}. */
export function clientSender(ctx: ShanduContext): Uint8Array {
  return senderOfIdentity(ctx.clientIdentity.getMSPID(), ctx.clientIdentity.getIDBytes());
}
