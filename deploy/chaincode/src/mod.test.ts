/**
 * The package as Fabric's node runtime loads it: fabric-shim's bootstrap reads `main` from package.json
 * and `require`s it, and its dispatcher finds the transactions of each contract by introspection (no
 * decorators). A transaction is then invoked through that dispatcher over the test double's stub, with
 * fabric-shim's own `ClientIdentity` parsing the test certificate.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { org1User } from "./testing/identities.ts";
import { FakeChaincodeStub } from "./testing/stub.ts";

const require = createRequire(import.meta.url);
const packageDir = fileURLToPath(new URL("..", import.meta.url));

describe("Fabric's runtime loads the chaincode", () => {
  it("bootstrap finds the contracts and the dispatcher lists their transactions", () => {
    const Bootstrap = require("fabric-shim/lib/contract-spi/bootstrap.js");
    const ChaincodeFromContract = require("fabric-shim/lib/contract-spi/chaincodefromcontract.js");
    const info = Bootstrap.getInfoFromContract(packageDir);
    assert.equal(info.title, "@shandu/chaincode");
    const cc = new ChaincodeFromContract(info.contracts, info.serializers, {}, info.title, info.version);
    const names = (c: string) => cc.metadata.contracts[c].transactions.map((t: { name: string }) => t.name).sort();
    assert.deepEqual(names("ShanduOutbox"), ["nextNonce", "send", "sendGovernance", "senderOf"]);
    assert.deepEqual(names("ShanduInbox"), [
      "checkAttestation",
      "committee",
      "configuration",
      "deliver",
      "epochStatus",
      "initialise",
      "isDelivered",
      "lane",
      "latestEpoch",
      "retry",
      "rotate",
    ]);
    const send = cc.metadata.contracts.ShanduOutbox.transactions.find((t: { name: string }) => t.name === "send");
    assert.equal(send.parameters.length, 3);
  });

  it("a transaction through fabric-shim's dispatcher returns the chaincode's answer, and a refusal its code", async () => {
    const Bootstrap = require("fabric-shim/lib/contract-spi/bootstrap.js");
    const ChaincodeFromContract = require("fabric-shim/lib/contract-spi/chaincodefromcontract.js");
    const info = Bootstrap.getInfoFromContract(packageDir);
    const cc = new ChaincodeFromContract(info.contracts, info.serializers, {}, info.title, info.version);
    const run = (args: string[]) =>
      cc.Invoke(new FakeChaincodeStub(new Map(), "00".repeat(32), { identity: org1User, timeSeconds: 1n, args }));
    const who = await run(["ShanduOutbox:senderOf"]);
    assert.equal(who.status, 200);
    assert.match(Buffer.from(who.payload).toString(), /^0x[0-9a-f]{64}$/);
    const refused = await run(["send", "1001", "0x01", "0x"]);
    assert.equal(refused.status, 500);
    assert.match(refused.message, /^NOT_INITIALISED: /);
  });
});
