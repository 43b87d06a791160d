/**
 * `ShanduInbox`: the destination side on a Fabric channel — committee registry (genesis, attested
 * rotations), batch verification, exactly-once execution, lane pause — with the semantics and error codes
 * of the EVM inbox (docs/evm.md, deploy/contracts/ShanduInbox.sol and ShanduInboxBase.sol). The BLS12-381
 * aggregate is verified in chaincode with the pure-JS `@noble/curves` backend of `@shandu/proofs`, so the
 * chaincode needs no native module.
 *
 * Trust: the chaincode trusts exactly what `initialise` was given, once, by a client of the MSP named in
 * `SHANDU_INITIALISER_MSP` (see env.ts): the genesis committee (validated completely, proofs of possession
 * included), the governor and the governance senders. Later committees come only from rotation records
 * attested by the committee before them; lanes are paused and resumed only by attested governance
 * messages. Keys, committee hashes and the current epoch come from world state, never from arguments.
 *
 * Determinism: time is the proposal timestamp (`getTxTimestamp`), state values are canonical JSON, and
 * every check comes before the first write (see state.ts). One caveat, inherited from the protocol core:
 * a committee's proofs of possession are checked in one randomised multi-pairing with a one-by-one
 * fallback; the verdict is that of the individual checks except with probability below 2^-64.
 */
import {
  type Attestation,
  attestationFromJson,
  type BatchHeader,
  batchFromJson,
  batchSigningRoot,
  batchSize,
  bytesEqual,
  type Committee,
  committeeFromJson,
  committeeSetHash,
  committeeToJson,
  decodeMessage,
  type Message,
  MessageKind,
  messageIdOfEncoding,
  nobleBls,
  rotationFromJson,
  rotationSigningRoot,
  ShanduError,
  toHex,
  type VerifiedCommittee,
  verifyAttestation,
  verifyCommittee,
  verifyMultiProof,
} from "@shandu/proofs";
import { Contract } from "fabric-contract-api";
import { array, type Config, hexBytes, KEYS, object, parseJsonObject, readConfig, type StoredConfig, storedConfig, u64 } from "./config.ts";
import { type ChaincodeEnvironment, chaincodeEnvironment } from "./env.ts";
import { ChaincodeError, protocol } from "./errors.ts";
import { defaultRecipients, type RecipientRegistry, scopedState } from "./recipients.ts";
import { clientSender, emitEvent, type ShanduContext, type TxState, transaction, txTimeSeconds } from "./state.ts";

export const BATCH_DELIVERED_EVENT = "BatchDelivered";
export const COMMITTEE_REGISTERED_EVENT = "CommitteeRegistered";
export const MESSAGE_RETRIED_EVENT = "MessageRetried";

const GOV_PAUSE = 1;
const GOV_RESUME = 2;
/** Most messages one delivery may carry (a batch tree holds at most 2^20). */
const MAX_DELIVERY_MESSAGES = 1 << 20;

/** Two bits per nonce in `BatchDelivered.outcomes`, as on the EVM. */
export const OUTCOME = { notRun: 0, executed: 1, failed: 3 } as const;

/** An epoch as stored: the committee in full (JSON of §4.7), its hash, activation and the grace of the rotation to it. */
interface StoredEpoch {
  committee: unknown;
  committeeSetHash: string;
  activatesAtSeconds: string;
  graceSeconds: number;
}

interface StoredLane {
  /** Every nonce below `next` is consumed; nonces at or above it are consumed if their `consumedAbove` key exists. */
  next: string;
  paused: boolean;
}

export interface ShanduInboxOptions {
  /** Who may initialise. Defaults to the process environment (env.ts). */
  environment?: ChaincodeEnvironment;
  /** Recipients of app messages. Defaults to {@link defaultRecipients}. */
  recipients?: RecipientRegistry;
}

export class ShanduInbox extends Contract {
  readonly #environment: ChaincodeEnvironment;
  readonly #recipients: RecipientRegistry;

  constructor(options?: ShanduInboxOptions) {
    super("ShanduInbox");
    this.#environment = options?.environment ?? chaincodeEnvironment();
    this.#recipients = options?.recipients ?? defaultRecipients();
  }

  /**
   * Fixes the configuration, once. `configJson`: `{"chainId": "<u64>", "genesis": <committee §4.7>,
   * "governor": "0x<32-byte sender>", "governance": [{"chainId": "<u64>", "sender": "0x…"}]}`. Only a client
   * of the MSP in `SHANDU_INITIALISER_MSP` may call it (`INITIALISER_NOT_CONFIGURED`, `NOT_AUTHORISED`); a
   * second call fails `ALREADY_INITIALISED`. The genesis committee must pass every validity rule of §4.5
   * (its codes). Emits `CommitteeRegistered` for the genesis epoch.
   */
  async initialise(ctx: ShanduContext, configJson: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const allowed = this.#environment.initialiserMsp;
      if (!allowed) throw new ChaincodeError("INITIALISER_NOT_CONFIGURED", "no MSP may initialise: SHANDU_INITIALISER_MSP is not set");
      const msp = ctx.clientIdentity.getMSPID();
      if (msp !== allowed) {
        throw new ChaincodeError("NOT_AUTHORISED", "only a client of the initialiser MSP may initialise", { facts: { msp, allowed } });
      }
      const caller = clientSender(ctx);
      const pinned = this.#environment.initialiserSender;
      if (pinned !== undefined && !bytesEqual(caller, pinned)) {
        throw new ChaincodeError("NOT_AUTHORISED", "only the pinned initialiser identity may initialise (SHANDU_INITIALISER_SENDER)", {
          facts: { msp },
        });
      }
      if (await state.get(KEYS.config)) throw new ChaincodeError("ALREADY_INITIALISED", "the chaincode was initialised before");

      const o = parseJsonObject(configJson, "config");
      const chainId = u64(o.chainId, "config.chainId");
      if (chainId === 0n) throw new ChaincodeError("INVALID_CHAIN_ID", "chain id 0 is not a chain");
      const genesis = protocol(() => committeeFromJson(o.genesis, "config.genesis"));
      const governor = hexBytes(o.governor, "config.governor", { length: 32 });
      if (governor.every((b) => b === 0)) throw new ChaincodeError("INVALID_GOVERNOR", "the governor cannot be zero");
      const governance = new Map<bigint, Uint8Array>();
      for (const [i, g] of array(o.governance ?? [], "config.governance", 1024).entries()) {
        const e = object(g, `config.governance[${i}]`);
        const source = u64(e.chainId, `config.governance[${i}].chainId`);
        const sender = hexBytes(e.sender, `config.governance[${i}].sender`, { maxLength: 64 });
        if (source === 0n || source === chainId || sender.length === 0 || governance.has(source)) {
          throw new ChaincodeError("INVALID_GOVERNANCE_SOURCE", "a governance source is chain 0, this chain, repeated, or has no sender", {
            facts: { index: i, chainId: source },
          });
        }
        governance.set(source, sender);
      }
      const vc = protocol(() => verifyCommittee(genesis, nobleBls));

      const config: Config = { chainId, genesisEpoch: genesis.epoch, governor, governance };
      state.putJson(KEYS.config, storedConfig(config, caller));
      putEpoch(state, vc, 0n, 0);
      state.putJson(KEYS.latestEpoch, genesis.epoch.toString());
      emitEvent(ctx, COMMITTEE_REGISTERED_EVENT, registeredEvent(vc.epoch, vc.hash, 0n, 0));
      return JSON.stringify({ chainId: chainId.toString(), genesisEpoch: genesis.epoch.toString(), committeeSetHash: toHex(vc.hash) });
    });
  }

  /**
   * Registers committee `fromEpoch + 1` from a rotation record (`rotationJson`, §7.2), with the checks of
   * §7.3 in the EVM inbox's order: a record for an epoch already registered is a no-op when it is the same
   * record and `ROTATION_CONFLICT` otherwise; then `ROTATION_EPOCH_GAP`, `ROTATION_PARENT_MISMATCH`,
   * `ROTATION_TIME_NOT_MONOTONIC`, the incoming committee's encoding, the outgoing committee's attestation
   * (`ROTATION_NOT_ATTESTED`, with the §6.4 code as `reason`), and the incoming committee's validity (§4.5).
   * Anyone may submit a record. Emits `CommitteeRegistered`.
   */
  async rotate(ctx: ShanduContext, rotationJson: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const config = await readConfig(state);
      const r = protocol(() => rotationFromJson(parseJsonObject(rotationJson, "rotation"), "rotation"));
      const latest = BigInt((await state.getJson<string>(KEYS.latestEpoch))!);
      if (r.fromEpoch < latest && r.fromEpoch >= config.genesisEpoch) {
        const known = (await readEpoch(state, r.fromEpoch + 1n))!;
        let toHash = "";
        try {
          toHash = toHex(committeeSetHash(r.to));
        } catch (e) {
          if (!(e instanceof ShanduError)) throw e;
        }
        if (
          toHash !== known.committeeSetHash ||
          r.activatesAtSeconds.toString() !== known.activatesAtSeconds ||
          r.graceSeconds !== known.graceSeconds
        ) {
          throw new ChaincodeError("ROTATION_CONFLICT", "a different record for an epoch already registered", {
            facts: { epoch: r.fromEpoch + 1n, known: known.committeeSetHash, offered: toHash || "(does not encode)" },
          });
        }
        return JSON.stringify({ epoch: (r.fromEpoch + 1n).toString(), registered: false });
      }
      if (r.fromEpoch !== latest || r.to.epoch !== r.fromEpoch + 1n) {
        throw new ChaincodeError("ROTATION_EPOCH_GAP", "the rotation does not continue the registered chain epoch by epoch", {
          facts: { latestEpoch: latest, fromEpoch: r.fromEpoch, toEpoch: r.to.epoch },
        });
      }
      const prev = (await readEpoch(state, r.fromEpoch))!;
      if (toHex(r.fromCommitteeSetHash) !== prev.committeeSetHash) {
        throw new ChaincodeError("ROTATION_PARENT_MISMATCH", "the rotation starts from another committee than the registered one", {
          facts: { expected: prev.committeeSetHash, actual: toHex(r.fromCommitteeSetHash) },
        });
      }
      if (r.activatesAtSeconds < BigInt(prev.activatesAtSeconds)) {
        throw new ChaincodeError("ROTATION_TIME_NOT_MONOTONIC", "the rotation activates before its predecessor", {
          facts: { activatesAtSeconds: r.activatesAtSeconds, previous: prev.activatesAtSeconds },
        });
      }
      const toHash = protocol(() => committeeSetHash(r.to));
      const from = storedCommittee(prev);
      const root = protocol(() => rotationSigningRoot(from.hash, from.epoch, toHash, r.to.epoch, r.activatesAtSeconds, r.graceSeconds));
      try {
        verifyAttestation(r.attestation, from, root, nobleBls);
      } catch (e) {
        if (!(e instanceof ShanduError)) throw e;
        throw new ChaincodeError("ROTATION_NOT_ATTESTED", `the outgoing committee did not attest the rotation: ${e.shortMessage}`, {
          facts: { reason: e.code },
          cause: e,
        });
      }
      const next = protocol(() => verifyCommittee(r.to, nobleBls));
      putEpoch(state, next, r.activatesAtSeconds, r.graceSeconds);
      state.putJson(KEYS.latestEpoch, next.epoch.toString());
      emitEvent(ctx, COMMITTEE_REGISTERED_EVENT, registeredEvent(next.epoch, next.hash, r.activatesAtSeconds, r.graceSeconds));
      return JSON.stringify({ epoch: next.epoch.toString(), registered: true, committeeSetHash: toHex(next.hash) });
    });
  }

  /**
   * Verifies and executes a delivery. `deliveryJson`: `{"header": <batch header §8.1>, "attestation":
   * <attestation §6.3>, "messages": ["0x<canonical encoding>", …], "siblings": ["0x<32 bytes>", …]}`, the
   * messages in increasing nonce order and `siblings` their multiproof (§3.2). Checks, in the EVM inbox's
   * order: `WRONG_DESTINATION_CHAIN`, `NONCE_RANGE_INVALID`, `EMPTY_DELIVERY`; each message decoded
   * strictly (codec codes), in the header's lane (`LANE_MISMATCH`) and range (`NONCE_OUT_OF_RANGE`), its
   * leaf index derived from its nonce; the multiproof (merkle codes); the epoch allowed at the
   * transaction's time (§7.4 codes); the attestation (§6.4 codes) over the signing root computed here.
   * Then each message not consumed before is consumed and executed; one consumed before is skipped. An
   * app message while its lane is paused refuses the whole delivery (`LANE_PAUSED`). Emits one
   * `BatchDelivered` event.
   */
  async deliver(ctx: ShanduContext, deliveryJson: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const config = await readConfig(state);
      const d = parseJsonObject(deliveryJson, "delivery");
      const header = protocol(() => batchFromJson(d.header, "delivery.header"));
      const attestation = protocol(() => attestationFromJson(d.attestation, "delivery.attestation"));
      const encodings = array(d.messages, "delivery.messages", MAX_DELIVERY_MESSAGES).map((m, i) =>
        hexBytes(m, `delivery.messages[${i}]`, { maxLength: 65_740 }),
      );
      const siblings = array(d.siblings, "delivery.siblings", 64 * 1024).map((s, i) =>
        hexBytes(s, `delivery.siblings[${i}]`, { length: 32 }),
      );

      const verified = await verifyDelivery(state, config, header, attestation, encodings, siblings, txTimeSeconds(ctx));
      const outcomes = await this.#executeAll(ctx, state, verified);
      emitEvent(
        ctx,
        BATCH_DELIVERED_EVENT,
        new TextEncoder().encode(
          JSON.stringify({
            sourceChainId: header.sourceChainId.toString(),
            root: toHex(header.root),
            fromNonce: verified.messages[0]!.nonce.toString(),
            outcomes: toHex(outcomes.packed),
          }),
        ),
      );
      return JSON.stringify({
        sourceChainId: header.sourceChainId.toString(),
        root: toHex(header.root),
        fromNonce: verified.messages[0]!.nonce.toString(),
        outcomes: toHex(outcomes.packed),
        executed: outcomes.executed.map(String),
        failed: outcomes.failed.map(String),
        skipped: outcomes.skipped.map(String),
      });
    });
  }

  /**
   * Runs a consumed message whose execution failed once more (`messageHex`: its canonical encoding).
   * `NOT_RETRYABLE` unless it failed and was not retried since. Emits `MessageRetried`.
   */
  async retry(ctx: ShanduContext, messageHex: string): Promise<string> {
    return transaction(ctx, async (state) => {
      await readConfig(state);
      const encoding = hexBytes(messageHex, "message", { maxLength: 65_740 });
      const m = protocol(() => decodeMessage(encoding));
      const id = messageIdOfEncoding(encoding);
      const key = KEYS.failed(toHex(id));
      if (!(await state.get(key))) throw new ChaincodeError("NOT_RETRYABLE", "the message did not fail here, or was retried since");
      state.delete(key);
      const ok = await this.#execute(ctx, state, m, id);
      emitEvent(ctx, MESSAGE_RETRIED_EVENT, new TextEncoder().encode(JSON.stringify({ messageId: toHex(id), ok })));
      return JSON.stringify({ messageId: toHex(id), ok });
    });
  }

  /**
   * Checks an attestation of a batch header as `deliver` would, at this transaction's time, without
   * delivering anything: `"ok"`, or the refusal (`NONCE_RANGE_INVALID`, §7.4 and §6.4 codes). For relayers
   * and conformance tests.
   */
  async checkAttestation(ctx: ShanduContext, headerJson: string, attestationJson: string): Promise<string> {
    return transaction(ctx, async (state) => {
      await readConfig(state);
      const header = protocol(() => batchFromJson(parseJsonObject(headerJson, "header"), "header"));
      const attestation = protocol(() => attestationFromJson(parseJsonObject(attestationJson, "attestation"), "attestation"));
      protocol(() => batchSize(header));
      await checkAttestation(state, header, attestation, txTimeSeconds(ctx));
      return "ok";
    });
  }

  /** Whether (sourceChainId, nonce) was consumed here: `"true"` or `"false"`. */
  async isDelivered(ctx: ShanduContext, sourceChainId: string, nonce: string): Promise<string> {
    return transaction(ctx, async (state) => {
      const src = u64(sourceChainId, "sourceChainId");
      const n = u64(nonce, "nonce");
      const lane = await readLane(state, src);
      return String(n < BigInt(lane.next) || (await state.get(KEYS.consumedAbove(src, n))) !== undefined);
    });
  }

  /** The lane from `sourceChainId`: `{"next": "<lowest nonce not consumed in order>", "paused": bool}`. */
  async lane(ctx: ShanduContext, sourceChainId: string): Promise<string> {
    return transaction(ctx, async (state) => JSON.stringify(await readLane(state, u64(sourceChainId, "sourceChainId"))));
  }

  /** The registered committee of `epoch` (§4.7 JSON with its hash, activation and grace), or `null`. */
  async committee(ctx: ShanduContext, epoch: string): Promise<string> {
    return transaction(ctx, async (state) => JSON.stringify((await readEpoch(state, u64(epoch, "epoch"))) ?? null));
  }

  /** The latest registered epoch, as a decimal string. */
  async latestEpoch(ctx: ShanduContext): Promise<string> {
    return transaction(ctx, async (state) => {
      await readConfig(state);
      return (await state.getJson<string>(KEYS.latestEpoch))!;
    });
  }

  /** Whether `epoch` may sign at `nowSeconds` (§7.4): `"ok"`, or the code it would fail with. */
  async epochStatus(ctx: ShanduContext, epoch: string, nowSeconds: string): Promise<string> {
    return transaction(ctx, async (state) => (await epochStatusOf(state, u64(epoch, "epoch"), u64(nowSeconds, "nowSeconds"))) ?? "ok");
  }

  /** The configuration fixed at initialisation (canonical JSON). */
  async configuration(ctx: ShanduContext): Promise<string> {
    return transaction(ctx, async (state) => {
      await readConfig(state);
      return JSON.stringify(await state.getJson<StoredConfig>(KEYS.config));
    });
  }

  /** Consumes and runs each message not consumed before; the outcome bits of `BatchDelivered`. */
  async #executeAll(ctx: ShanduContext, state: TxState, v: VerifiedDelivery) {
    const fromNonce = v.messages[0]!.nonce;
    const lastNonce = v.messages[v.messages.length - 1]!.nonce;
    const packed = new Uint8Array(Number((lastNonce - fromNonce) >> 2n) + 1);
    const executed: bigint[] = [];
    const failed: bigint[] = [];
    const skipped: bigint[] = [];
    for (const [k, m] of v.messages.entries()) {
      if (!(await consume(state, m.sourceChainId, m.nonce))) {
        skipped.push(m.nonce);
        continue;
      }
      const ok = await this.#execute(ctx, state, m, v.ids[k]!);
      (ok ? executed : failed).push(m.nonce);
      const i = Number(m.nonce - fromNonce);
      packed[i >> 2]! |= (ok ? OUTCOME.executed : OUTCOME.failed) << ((i & 3) * 2);
    }
    return { packed, executed, failed, skipped };
  }

  /** Runs one consumed message; a failure is recorded (retryable), except `LANE_PAUSED`, which refuses the transaction. */
  async #execute(ctx: ShanduContext, state: TxState, m: Message, id: Uint8Array): Promise<boolean> {
    let ok: boolean;
    if (m.kind === MessageKind.governance) {
      ok = await governance(state, m);
    } else {
      const lane = await readLane(state, m.sourceChainId);
      if (lane.paused)
        throw new ChaincodeError("LANE_PAUSED", "the lane is paused by governance", { facts: { sourceChainId: m.sourceChainId } });
      ok = await this.#callRecipient(ctx, state, m, id);
    }
    if (!ok) state.put(KEYS.failed(toHex(id)), new TextEncoder().encode("true"));
    return ok;
  }

  async #callRecipient(ctx: ShanduContext, state: TxState, m: Message, id: Uint8Array): Promise<boolean> {
    let name: string;
    try {
      name = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(m.recipient);
    } catch {
      return false;
    }
    const handler = this.#recipients.get(name);
    if (!handler || name.length === 0 || name.includes("/")) return false;
    const child = state.child();
    try {
      await handler(
        {
          sourceChainId: m.sourceChainId,
          sender: m.sender,
          nonce: m.nonce,
          payload: m.payload,
          messageId: id,
          txTimeSeconds: txTimeSeconds(ctx),
          txId: ctx.stub.getTxID(),
        },
        scopedState(child, KEYS.recipient(name)),
      );
    } catch {
      return false;
    }
    child.mergeIntoParent();
    return true;
  }
}

// --------------------------------------------------------------------------------------- verification

interface VerifiedDelivery {
  messages: Message[];
  ids: Uint8Array[];
}

/** Every check of a delivery before anything runs, in the EVM inbox's order. Throws the first failure. */
async function verifyDelivery(
  state: TxState,
  config: Config,
  header: BatchHeader,
  attestation: Attestation,
  encodings: Uint8Array[],
  siblings: Uint8Array[],
  nowSeconds: bigint,
): Promise<VerifiedDelivery> {
  if (header.destinationChainId !== config.chainId) {
    throw new ChaincodeError("WRONG_DESTINATION_CHAIN", "the batch is for another chain", {
      facts: { destinationChainId: header.destinationChainId, chainId: config.chainId },
    });
  }
  const treeSize = protocol(() => batchSize(header));
  if (encodings.length === 0) throw new ChaincodeError("EMPTY_DELIVERY", "a delivery carries at least one message");
  const messages: Message[] = [];
  const ids: Uint8Array[] = [];
  const indices: number[] = [];
  for (const e of encodings) {
    const m = protocol(() => decodeMessage(e));
    if (m.sourceChainId !== header.sourceChainId || m.destinationChainId !== header.destinationChainId) {
      throw new ChaincodeError("LANE_MISMATCH", "a message is not of the batch's lane", { facts: { nonce: m.nonce } });
    }
    if (m.nonce < header.firstNonce || m.nonce > header.lastNonce) {
      throw new ChaincodeError("NONCE_OUT_OF_RANGE", "a message's nonce is outside the batch's range", { facts: { nonce: m.nonce } });
    }
    messages.push(m);
    ids.push(messageIdOfEncoding(e));
    indices.push(Number(m.nonce - header.firstNonce));
  }
  checkInclusion(header.root, treeSize, indices, ids, siblings);
  await checkAttestation(state, header, attestation, nowSeconds);
  return { messages, ids };
}

/** The multiproof walk of §3.3 over the leaves at `indices` (merkle codes). */
export function checkInclusion(root: Uint8Array, treeSize: number, indices: number[], leaves: Uint8Array[], siblings: Uint8Array[]): void {
  protocol(() => verifyMultiProof(root, { treeSize, indices, siblings }, leaves));
}

/**
 * The attestation half of a delivery: the epoch may sign at `nowSeconds` (§7.4 codes), and the attestation
 * verifies (§6.4 codes) against the stored committee over the signing root computed here from the header.
 */
export async function checkAttestation(state: TxState, header: BatchHeader, attestation: Attestation, nowSeconds: bigint): Promise<void> {
  const status = await epochStatusOf(state, attestation.epoch, nowSeconds);
  if (status)
    throw new ChaincodeError(status, "the attestation's committee may not sign now", { facts: { epoch: attestation.epoch, nowSeconds } });
  const vc = storedCommittee((await readEpoch(state, attestation.epoch))!);
  const root = protocol(() => batchSigningRoot(vc.hash, attestation.epoch, header));
  protocol(() => verifyAttestation(attestation, vc, root, nobleBls));
}

// ------------------------------------------------------------------------------------------ epochs

async function readEpoch(state: TxState, epoch: bigint): Promise<StoredEpoch | undefined> {
  return state.getJson<StoredEpoch>(KEYS.epoch(epoch));
}

function putEpoch(state: TxState, vc: VerifiedCommittee, activatesAtSeconds: bigint, graceSeconds: number): void {
  const stored: StoredEpoch = {
    committee: committeeToJson(vc.committee),
    committeeSetHash: toHex(vc.hash),
    activatesAtSeconds: activatesAtSeconds.toString(),
    graceSeconds,
  };
  state.putJson(KEYS.epoch(vc.epoch), stored);
}

/**
 * The committee of a stored epoch, validated (§4.5) again from its stored form. The protocol core caches
 * validated committees by hash, so this costs the pairings once per chaincode process.
 */
function storedCommittee(e: StoredEpoch): VerifiedCommittee {
  const c: Committee = protocol(() => committeeFromJson(e.committee));
  const vc = protocol(() => verifyCommittee(c, nobleBls));
  if (toHex(vc.hash) !== e.committeeSetHash) throw new ChaincodeError("INTERNAL", "a stored committee does not hash to its stored hash");
  return vc;
}

/** §7.4 with the registry's records: undefined when `epoch` may sign at `now`, else the code. */
async function epochStatusOf(state: TxState, epoch: bigint, now: bigint): Promise<string | undefined> {
  const record = await readEpoch(state, epoch);
  if (!record) return "EPOCH_NOT_IN_CHAIN";
  if (BigInt(record.activatesAtSeconds) > now) return "EPOCH_NOT_YET_ACTIVE";
  const next = await readEpoch(state, epoch + 1n);
  if (next && BigInt(next.activatesAtSeconds) <= now) {
    const after = await readEpoch(state, epoch + 2n);
    const afterActive = after !== undefined && BigInt(after.activatesAtSeconds) <= now;
    if (afterActive || now >= BigInt(next.activatesAtSeconds) + BigInt(next.graceSeconds)) return "EPOCH_EXPIRED";
  }
  return undefined;
}

function registeredEvent(epoch: bigint, hash: Uint8Array, activatesAtSeconds: bigint, graceSeconds: number): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      epoch: epoch.toString(),
      committeeSetHash: toHex(hash),
      activatesAtSeconds: activatesAtSeconds.toString(),
      graceSeconds,
    }),
  );
}

// ------------------------------------------------------------------------------------ replay protection

async function readLane(state: TxState, source: bigint): Promise<StoredLane> {
  return (await state.getJson<StoredLane>(KEYS.lane(source))) ?? { next: "0", paused: false };
}

/**
 * Marks (lane, nonce) consumed; false if it already was. Below the watermark `next` every nonce is
 * consumed; a nonce above it gets a key of its own, and those keys are folded into the watermark (and
 * deleted) once it reaches them, so in-order delivery keeps one value per lane.
 */
async function consume(state: TxState, source: bigint, nonce: bigint): Promise<boolean> {
  const lane = await readLane(state, source);
  let next = BigInt(lane.next);
  if (nonce < next) return false;
  const aboveKey = KEYS.consumedAbove(source, nonce);
  if (nonce > next) {
    if (await state.get(aboveKey)) return false;
    state.put(aboveKey, new TextEncoder().encode("true"));
    return true;
  }
  next += 1n;
  while (await state.get(KEYS.consumedAbove(source, next))) {
    state.delete(KEYS.consumedAbove(source, next));
    next += 1n;
  }
  state.putJson(KEYS.lane(source), { ...lane, next: next.toString() });
  return true;
}

/** Governance payload: op (u8) ‖ source chain id of the lane (u64); 1 pauses, 2 resumes. False if not obeyed. */
async function governance(state: TxState, m: Message): Promise<boolean> {
  const config = await readConfig(state);
  const expected = config.governance.get(m.sourceChainId);
  if (!expected || toHex(expected) !== toHex(m.sender)) return false;
  if (m.payload.length !== 9) return false;
  const op = m.payload[0]!;
  if (op !== GOV_PAUSE && op !== GOV_RESUME) return false;
  const target = new DataView(m.payload.buffer, m.payload.byteOffset + 1, 8).getBigUint64(0);
  const lane = await readLane(state, target);
  state.putJson(KEYS.lane(target), { ...lane, paused: op === GOV_PAUSE });
  return true;
}
