/**
 * Test setup shared by the chaincode's tests: an outbox and an inbox over one {@link FakeLedger} (the
 * test double of a peer), initialised by a client of Org1MSP, and helpers that build and sign batches with
 * the deterministic test committees of `@shandu/proofs/testing`.
 */
import {
  type Attestation,
  attestationToJson,
  type BatchHeader,
  batchToJson,
  type Committee,
  committeeToJson,
  encodeMessage,
  MerkleTree,
  type Message,
  MessageKind,
  messageId,
  nobleBls,
  toHex,
} from "@shandu/proofs";
import { attestBatch, type TestCommittee } from "@shandu/proofs/testing";
import { ChaincodeError } from "../errors.ts";
import { ShanduInbox } from "../inbox.ts";
import { ShanduOutbox } from "../outbox.ts";
import type { RecipientRegistry } from "../recipients.ts";
import { type ShanduContext, senderOfIdentity } from "../state.ts";
import { org1Admin, type TestIdentity } from "./identities.ts";
import { failingRecipient, recordingRecipient } from "./recorder.ts";
import { FakeLedger, type FakeTransactionResult } from "./stub.ts";

export function utf8Bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export const FABRIC_CHAIN = 3003n;
export const SOURCE_CHAIN = 1001n;
/** The sender of governance messages on the source chain, as the inbox is configured with it. */
export const SOURCE_GOVERNOR = new Uint8Array(20).fill(0x60);

export function testRecipients(): RecipientRegistry {
  return new Map([
    ["recorder", recordingRecipient],
    ["failing", failingRecipient],
  ]);
}

export class Harness {
  readonly ledger = new FakeLedger();
  readonly inbox: ShanduInbox;
  readonly outbox = new ShanduOutbox();
  timeSeconds = 1_800_000_000n;

  /** `initialiserMsp: null`: no initialiser configured; `initialiser`: the one identity pinned (SHANDU_INITIALISER_SENDER). */
  constructor(opts: { recipients?: RecipientRegistry; initialiserMsp?: string | null; initialiser?: TestIdentity } = {}) {
    const msp = opts.initialiserMsp === undefined ? "Org1MSP" : (opts.initialiserMsp ?? undefined);
    const pinned = opts.initialiser ? senderOfIdentity(opts.initialiser.mspId, utf8Bytes(opts.initialiser.certificatePem)) : undefined;
    this.inbox = new ShanduInbox({
      environment: { initialiserMsp: msp, initialiserSender: pinned },
      recipients: opts.recipients ?? testRecipients(),
    });
  }

  tx<T>(
    identity: TestIdentity,
    body: (ctx: ShanduContext) => Promise<T>,
    timeSeconds = this.timeSeconds,
  ): Promise<FakeTransactionResult<T>> {
    return this.ledger.run({ identity, timeSeconds }, (ctx) => body(ctx));
  }

  initialise(genesis: Committee, opts: { chainId?: bigint; identity?: TestIdentity; governor?: Uint8Array } = {}) {
    const config = {
      chainId: (opts.chainId ?? FABRIC_CHAIN).toString(),
      genesis: committeeToJson(genesis),
      governor: toHex(opts.governor ?? senderOfIdentity(org1Admin.mspId, utf8Bytes(org1Admin.certificatePem))),
      governance: [{ chainId: SOURCE_CHAIN.toString(), sender: toHex(SOURCE_GOVERNOR) }],
    };
    return this.tx(opts.identity ?? org1Admin, (ctx) => this.inbox.initialise(ctx, JSON.stringify(config)));
  }

  deliver(delivery: Delivery, timeSeconds = this.timeSeconds) {
    return this.tx(org1Admin, (ctx) => this.inbox.deliver(ctx, JSON.stringify(deliveryJson(delivery))), timeSeconds);
  }
}

/** The code of a failed transaction ("ok" when it succeeded). */
export function codeOf(r: FakeTransactionResult<unknown>): string {
  if (r.ok) return "ok";
  if (r.error instanceof ChaincodeError) return r.error.code;
  throw r.error;
}

export interface Delivery {
  header: BatchHeader;
  attestation: Attestation;
  messages: Message[];
  siblings: Uint8Array[];
}

export function deliveryJson(d: Delivery) {
  return {
    header: batchToJson(d.header),
    attestation: attestationToJson(d.attestation),
    messages: d.messages.map((m) => toHex(encodeMessage(m))),
    siblings: d.siblings.map(toHex),
  };
}

/** An app message of the test lane to the named in-chaincode recipient. */
export function appMessage(nonce: bigint, recipient = "recorder", lane: { source?: bigint; destination?: bigint } = {}): Message {
  return {
    version: 1,
    sourceChainId: lane.source ?? SOURCE_CHAIN,
    destinationChainId: lane.destination ?? FABRIC_CHAIN,
    nonce,
    kind: MessageKind.app,
    sender: new Uint8Array(20).fill(0xa1),
    recipient: utf8Bytes(recipient),
    payload: utf8Bytes(`deed-${nonce}`),
    source: { blockNumber: 100n + nonce, txHash: new Uint8Array(32).fill(Number(nonce & 0xffn)), logIndex: 0 },
  };
}

/** A governance message from the configured source governor: op 1 pauses, 2 resumes the lane from `lane`. */
export function governanceMessage(nonce: bigint, op: number, lane = SOURCE_CHAIN, sender = SOURCE_GOVERNOR): Message {
  const payload = new Uint8Array(9);
  payload[0] = op;
  new DataView(payload.buffer).setBigUint64(1, lane);
  return { ...appMessage(nonce), kind: MessageKind.governance, sender, recipient: new Uint8Array(0), payload };
}

/** A batch over `messages` (contiguous nonces of one lane), attested by `signers` of `tc`. */
export function batchOf(messages: Message[], tc: TestCommittee, signers = [0, 1, 3]) {
  const tree = MerkleTree.fromLeaves(messages.map(messageId));
  const header: BatchHeader = {
    sourceChainId: messages[0]!.sourceChainId,
    destinationChainId: messages[0]!.destinationChainId,
    firstNonce: messages[0]!.nonce,
    lastNonce: messages[messages.length - 1]!.nonce,
    root: tree.root,
  };
  const attestation = attestBatch(nobleBls, tc, signers, header);
  /** The delivery of the messages at `indices` of the batch. */
  const deliver = (indices: number[] = messages.map((_, i) => i)): Delivery => ({
    header,
    attestation,
    messages: indices.map((i) => messages[i]!),
    siblings: tree.prove(indices).siblings,
  });
  return { header, attestation, tree, deliver };
}
