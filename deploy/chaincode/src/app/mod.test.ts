/**
 * The application's contracts as Fabric's runtime sees them: fabric-shim's bootstrap loads the package,
 * its dispatcher lists each contract's transactions (found by introspection of the class's own prototype),
 * and the inbox it constructs without arguments delivers to the application's recipients.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { ShanduInbox } from "../inbox.ts";
import { contracts } from "../mod.ts";
import { APP_RECIPIENT, SETTLEMENT_RECIPIENT } from "./common.ts";
import { appRecipients, ShanduAppInbox } from "./mod.ts";

const require = createRequire(import.meta.url);
const packageDir = fileURLToPath(new URL("../..", import.meta.url));

const ownMethods = (c: { prototype: object }) =>
  Object.getOwnPropertyNames(c.prototype)
    .filter((n) => n !== "constructor" && !n.startsWith("_"))
    .sort();

describe("the application in Fabric's runtime", () => {
  it("the dispatcher lists the application's contracts and the inbox keeps every transaction", () => {
    const Bootstrap = require("fabric-shim/lib/contract-spi/bootstrap.js");
    const ChaincodeFromContract = require("fabric-shim/lib/contract-spi/chaincodefromcontract.js");
    const info = Bootstrap.getInfoFromContract(packageDir);
    const cc = new ChaincodeFromContract(info.contracts, info.serializers, {}, info.title, info.version);
    const names = (c: string) => cc.metadata.contracts[c].transactions.map((t: { name: string }) => t.name).sort();
    assert.deepEqual(names("ShanduInbox"), ownMethods(ShanduInbox));
    assert.deepEqual(ownMethods(ShanduAppInbox), ownMethods(ShanduInbox));
    assert.deepEqual(names("ShanduRedemption"), [
      "availableCredits",
      "confirm",
      "nextUserNonce",
      "redemption",
      "redemptionId",
      "refundAfterTimeout",
      "reject",
      "requestRedemption",
      "sendRejection",
    ]);
    assert.deepEqual(names("ShanduApp"), [
      "accountOf",
      "classSponsor",
      "configuration",
      "credits",
      "hasRole",
      "initialise",
      "isGovernanceSource",
      "issuedBySponsor",
      "laneLimit",
      "measurerCommittee",
    ]);
    assert.deepEqual(names("ShanduDeeds"), [
      "deed",
      "deedSigningRoot",
      "issueCredits",
      "recordDeed",
      "registerMeasurers",
      "rule",
      "setRule",
    ]);
    assert.deepEqual(names("ShanduSettlement"), ["markSettled", "publish", "referenceOf", "sendRoot", "window"]);
    const request = cc.metadata.contracts.ShanduRedemption.transactions.find((t: { name: string }) => t.name === "requestRedemption");
    assert.equal(request.parameters.length, 6);
  });

  it("the deployed inbox delivers to the application's recipients", () => {
    assert.equal(contracts[1], ShanduAppInbox);
    assert.deepEqual([...appRecipients().keys()], [APP_RECIPIENT, SETTLEMENT_RECIPIENT]);
  });
});
