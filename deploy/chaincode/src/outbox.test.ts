import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { describe, it } from "node:test";
import { decodeMessage, FABRIC_MESSAGE_EVENT, MessageKind, nobleBls, toHex } from "@shandu/proofs";
import { pilotCommittee } from "@shandu/proofs/testing";
import { MESSAGE_EVENT, messageBody } from "./outbox.ts";
import { codeOf, FABRIC_CHAIN, Harness } from "./testing/harness.ts";
import { org1Admin, org1User, org2User, type TestIdentity } from "./testing/identities.ts";

const genesis = pilotCommittee(nobleBls).committee;

/** The sender as docs/fabric.md defines it, computed independently with node:crypto's X.509 parser. */
function expectedSender(id: TestIdentity): Uint8Array {
  const der = new X509Certificate(id.certificatePem).raw;
  return createHash("sha256")
    .update(Buffer.concat([Buffer.from(id.mspId), Buffer.from([0]), der]))
    .digest();
}

async function ready(): Promise<Harness> {
  const h = new Harness();
  assert.equal(codeOf(await h.initialise(genesis)), "ok");
  return h;
}

describe("ShanduOutbox", () => {
  it("sets the event the fabric-endorsement evidence reads", () => {
    assert.equal(MESSAGE_EVENT, FABRIC_MESSAGE_EVENT);
  });

  it("refuses to send before initialisation", async () => {
    const h = new Harness();
    const r = await h.tx(org1User, (ctx) => h.outbox.send(ctx, "1001", "0x01", "0x"));
    assert.equal(codeOf(r), "NOT_INITIALISED");
    assert.equal(h.ledger.state.size, 0);
  });

  it("numbers each lane from 0 and emits fields 1–8 with the client's identity as sender", async () => {
    const h = await ready();
    const sends: [TestIdentity, string, string, string][] = [
      [org1User, "1001", "0x5e1d", "0x0102"],
      [org2User, "1001", "0x", "0x"],
      [org1User, "2002", "0xaa", "0xbeef"],
      [org1User, "1001", "0x5e1d", "0x03"],
    ];
    const nonces: string[] = [];
    for (const [id, dst, recipient, payload] of sends) {
      const r = await h.tx(id, (ctx) => h.outbox.send(ctx, dst, recipient, payload));
      assert.equal(codeOf(r), "ok");
      const out = JSON.parse(r.result!);
      nonces.push(`${dst}:${out.nonce}`);
      assert.equal(r.event?.name, MESSAGE_EVENT);
      const expected = messageBody({
        version: 1,
        sourceChainId: FABRIC_CHAIN,
        destinationChainId: BigInt(dst),
        nonce: BigInt(out.nonce),
        kind: MessageKind.app,
        sender: expectedSender(id),
        recipient: Buffer.from(recipient.slice(2), "hex"),
        payload: Buffer.from(payload.slice(2), "hex"),
      });
      assert.equal(toHex(r.event!.payload), toHex(expected));
      assert.equal(out.body, toHex(expected));
      // The watcher appends block number, transaction id (32 bytes) and event index 0: a valid message.
      const position = new Uint8Array(44);
      position.set(Buffer.from(r.txId, "hex"), 8);
      const full = new Uint8Array([...r.event!.payload, ...position]);
      const m = decodeMessage(full);
      assert.equal(toHex(m.sender), toHex(expectedSender(id)));
      assert.equal(m.sender.length, 32);
    }
    assert.deepEqual(nonces, ["1001:0", "1001:1", "2002:0", "1001:2"]);
    const next = await h.tx(org1User, (ctx) => h.outbox.nextNonce(ctx, "1001"));
    assert.equal(next.result, "3");
    assert.equal((await h.tx(org2User, (ctx) => h.outbox.senderOf(ctx))).result, toHex(expectedSender(org2User)));
  });

  it("refuses a second message in one transaction (one chaincode event per transaction), writing nothing", async () => {
    const h = await ready();
    const before = h.ledger.snapshot();
    const r = await h.tx(org1User, async (ctx) => {
      await h.outbox.send(ctx, "1001", "0x01", "0x");
      return h.outbox.send(ctx, "1001", "0x02", "0x");
    });
    assert.equal(codeOf(r), "EVENT_ALREADY_SET");
    assert.deepEqual(h.ledger.snapshot(), before);
    assert.equal((await h.tx(org1User, (ctx) => h.outbox.nextNonce(ctx, "1001"))).result, "0");
  });

  it("refuses bad destinations and arguments with their codes", async () => {
    const h = await ready();
    const before = h.ledger.snapshot();
    const cases: [string, string, string, string][] = [
      [FABRIC_CHAIN.toString(), "0x01", "0x", "INVALID_DESTINATION"],
      ["0", "0x01", "0x", "INVALID_DESTINATION"],
      ["01001", "0x01", "0x", "SCHEMA"],
      ["18446744073709551616", "0x01", "0x", "SCHEMA"],
      ["1001", "0x0", "0x", "SCHEMA"],
      ["1001", `0x${"11".repeat(65)}`, "0x", "FIELD_TOO_LONG"],
      ["1001", "0x01", `0x${"00".repeat(65_537)}`, "FIELD_TOO_LONG"],
    ];
    for (const [dst, recipient, payload, code] of cases) {
      assert.equal(
        codeOf(await h.tx(org1User, (ctx) => h.outbox.send(ctx, dst, recipient, payload))),
        code,
        `${dst} ${recipient.slice(0, 8)}`,
      );
    }
    assert.deepEqual(h.ledger.snapshot(), before);
  });

  it("sends governance messages only for the governor fixed at initialisation", async () => {
    const h = await ready();
    const refused = await h.tx(org1User, (ctx) => h.outbox.sendGovernance(ctx, "1001", "0x010000000000000bb9"));
    assert.equal(codeOf(refused), "NOT_GOVERNOR");
    const r = await h.tx(org1Admin, (ctx) => h.outbox.sendGovernance(ctx, "1001", "0x010000000000000bb9"));
    assert.equal(codeOf(r), "ok");
    const m = decodeMessage(new Uint8Array([...r.event!.payload, ...new Uint8Array(44)]));
    assert.equal(m.kind, MessageKind.governance);
    assert.equal(m.recipient.length, 0);
    assert.equal(toHex(m.sender), toHex(expectedSender(org1Admin)));
    assert.equal(JSON.parse(r.result!).nonce, "0");
  });

  it("defines the sender from the DER, not the PEM text", async () => {
    const h = await ready();
    const crlf: TestIdentity = { mspId: org1User.mspId, certificatePem: org1User.certificatePem.replace(/\n/g, "\r\n") };
    const a = await h.tx(org1User, (ctx) => h.outbox.senderOf(ctx));
    const b = await h.tx(crlf, (ctx) => h.outbox.senderOf(ctx));
    assert.equal(a.result, b.result);
    const other = await h.tx({ mspId: "Org2MSP", certificatePem: org1User.certificatePem }, (ctx) => h.outbox.senderOf(ctx));
    assert.notEqual(a.result, other.result);
    const bad = await h.tx({ mspId: "Org1MSP", certificatePem: "not a certificate" }, (ctx) => h.outbox.send(ctx, "1001", "0x", "0x"));
    assert.equal(codeOf(bad), "INVALID_CLIENT_IDENTITY");
  });
});
