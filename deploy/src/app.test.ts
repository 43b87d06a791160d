import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { REDEMPTION_EVENTS, toHex } from "@shandu/proofs";
import { Interface } from "ethers";
import { loadArtifact } from "./artifacts.ts";

describe("the audit reads the redemption contract's events", () => {
  test("every event the audit looks for has the topic the compiled contract emits", () => {
    const abi = new Interface(loadArtifact("ShanduRedemption").abi);
    const names = {
      requested: "RedemptionRequested",
      authorised: "RedemptionAuthorised",
      confirmed: "RedemptionConfirmed",
      rejected: "RedemptionRejected",
      burned: "RedemptionBurned",
      refunded: "RedemptionRefunded",
      lateConfirmation: "LateConfirmation",
      expired: "RedemptionExpired",
    } as const;
    for (const [key, event] of Object.entries(names) as [keyof typeof names, string][]) {
      const fragment = abi.getEvent(event);
      assert.ok(fragment, `${event} is in the ABI`);
      assert.equal(toHex(REDEMPTION_EVENTS[key]), fragment.topicHash, event);
      // The audit takes the redemption id from the first indexed argument.
      assert.equal(fragment.inputs[0]?.type, "bytes32", event);
      assert.equal(fragment.inputs[0]?.indexed, true, event);
    }
  });
});
