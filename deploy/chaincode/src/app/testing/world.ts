/**
 * Test setup for the application's tests: a {@link World} is one chain's chaincode over its own
 * {@link FakeLedger} (the test double of a peer), with the inbox delivering to the application's
 * recipients, initialised by a client of Org1MSP. Governance payloads arrive as attested app messages
 * from the alliance governance source on chain 1001; a message a world's outbox sent is carried to
 * another world's inbox through a real attested `deliver`, signed by the pilot committee.
 */
import assert from "node:assert/strict";
import { concatBytes, decodeMessage, fixedUint, type Message, MessageKind, nobleBls, toHex } from "@shandu/proofs";
import { pilotCommittee } from "@shandu/proofs/testing";
import { type RecipientCall, type RecipientState, scopedState } from "../../recipients.ts";
import { type ShanduContext, senderOfIdentity, type TxState, transaction } from "../../state.ts";
import { batchOf, codeOf, Harness, SOURCE_CHAIN } from "../../testing/harness.ts";
import { org1Admin, type TestIdentity } from "../../testing/identities.ts";
import type { FakeTransactionResult } from "../../testing/stub.ts";
import { ShanduApp } from "../app.ts";
import { APP_RECIPIENT, accountOfSender, appState } from "../common.ts";
import { ShanduDeeds } from "../deeds.ts";
import { appRecipients } from "../mod.ts";
import { ShanduRedemption } from "../redemption.ts";
import { ShanduSettlement } from "../settlement.ts";

export const committee = pilotCommittee(nobleBls);
/** The alliance governance source: this sender on chain 1001 ({@link SOURCE_CHAIN}). */
export const ALLIANCE_GOVERNOR = new Uint8Array(20).fill(0x70);
export const GOVERNANCE_CHAIN = SOURCE_CHAIN;

export function accountOf(identity: TestIdentity): Uint8Array {
  return accountOfSender(senderOfIdentity(identity.mspId, new TextEncoder().encode(identity.certificatePem)));
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export interface WorldOptions {
  chainId: bigint;
  redemptionPeers?: [bigint, string][];
  settlementPeers?: [bigint, string][];
  refundMarginSeconds?: bigint;
}

export class World {
  readonly h: Harness;
  readonly app = new ShanduApp({ environment: { initialiserMsp: "Org1MSP" } });
  readonly redemption = new ShanduRedemption();
  readonly deeds = new ShanduDeeds();
  readonly settlement = new ShanduSettlement();
  readonly chainId: bigint;
  readonly options: WorldOptions;
  #governanceNonce = 0n;

  constructor(options: WorldOptions) {
    this.options = options;
    this.chainId = options.chainId;
    this.h = new Harness({ recipients: appRecipients() });
  }

  get ledger() {
    return this.h.ledger;
  }

  get time(): bigint {
    return this.h.timeSeconds;
  }

  set time(t: bigint) {
    this.h.timeSeconds = t;
  }

  appConfigJson(): string {
    const peers = (list: [bigint, string][] = []) => list.map(([c, r]) => ({ chainId: c.toString(), recipient: toHex(utf8(r)) }));
    return JSON.stringify({
      governance: [{ chainId: GOVERNANCE_CHAIN.toString(), sender: toHex(ALLIANCE_GOVERNOR) }],
      redemptionPeers: peers(this.options.redemptionPeers),
      settlementPeers: peers(this.options.settlementPeers),
      refundMarginSeconds: (this.options.refundMarginSeconds ?? 100n).toString(),
    });
  }

  /** Initialises the inbox and the application. */
  async setup(): Promise<this> {
    assert.equal(codeOf(await this.h.initialise(committee.committee, { chainId: this.chainId })), "ok");
    assert.equal(codeOf(await this.tx(org1Admin, (ctx) => this.app.initialise(ctx, this.appConfigJson()))), "ok");
    return this;
  }

  tx<T>(identity: TestIdentity, body: (ctx: ShanduContext) => Promise<T>, timeSeconds = this.time): Promise<FakeTransactionResult<T>> {
    return this.h.tx(identity, body, timeSeconds);
  }

  /** A transaction working directly on the application's key space (a stand-in for what tests need no transaction for). */
  direct<T>(body: (s: RecipientState, state: TxState) => Promise<T>): Promise<FakeTransactionResult<T>> {
    return this.tx(org1Admin, (ctx) => transaction(ctx, (state) => body(appState(state), state)));
  }

  /** Runs a recipient as the inbox would, in a transaction of its own: its code, or "ok". */
  async receive(name: string, call: Partial<RecipientCall> & { sourceChainId: bigint; sender: Uint8Array; payload: Uint8Array }) {
    const handler = appRecipients().get(name)!;
    return this.tx(org1Admin, (ctx) =>
      transaction(ctx, (state) =>
        handler(
          { nonce: 0n, messageId: new Uint8Array(32), txTimeSeconds: this.time, txId: "test", ...call },
          scopedState(state, `app/${name}/`),
        ),
      ),
    );
  }

  /** Delivers a governance payload from the alliance governance source, through an attested batch. */
  async governance(payload: Uint8Array, sender = ALLIANCE_GOVERNOR) {
    const m: Message = {
      version: 1,
      sourceChainId: GOVERNANCE_CHAIN,
      destinationChainId: this.chainId,
      nonce: this.#governanceNonce++,
      kind: MessageKind.app,
      sender,
      recipient: utf8(APP_RECIPIENT),
      payload,
      source: { blockNumber: 1n, txHash: new Uint8Array(32).fill(7), logIndex: 0 },
    };
    const r = await this.h.deliver(batchOf([m], committee).deliver());
    assert.equal(codeOf(r), "ok");
    return { ...(JSON.parse(r.result!) as { executed: string[]; failed: string[] }), message: m };
  }

  /** Delivers the message another world's transaction `sent` (its `MessageSent` event) to this world's inbox. */
  async carry(sent: FakeTransactionResult<unknown>, blockNumber = 10n) {
    assert.equal(sent.event?.name, "MessageSent", "the transaction sent no message");
    const m = decodeMessage(
      concatBytes(
        sent.event!.payload,
        fixedUint(blockNumber, 8, (1n << 64n) - 1n, "block"),
        Buffer.from(sent.txId, "hex"),
        new Uint8Array(4),
      ),
    );
    const r = await this.h.deliver(batchOf([m], committee).deliver());
    assert.equal(codeOf(r), "ok");
    return JSON.parse(r.result!) as { executed: string[]; failed: string[]; skipped: string[] };
  }

  /** The committed application state, for comparing before and after a refusal. */
  snapshot() {
    return this.ledger.snapshot();
  }
}

/** Runs `f` and checks it was refused with `code` and left `w`'s world state unchanged. */
export async function refused(w: World, code: string, f: () => Promise<FakeTransactionResult<unknown>>): Promise<void> {
  const before = w.snapshot();
  assert.equal(codeOf(await f()), code);
  assert.deepEqual(w.snapshot(), before, `${code}: state changed`);
}

export function json<T = Record<string, unknown>>(r: FakeTransactionResult<string>): T {
  assert.equal(codeOf(r), "ok");
  return JSON.parse(r.result!) as T;
}
