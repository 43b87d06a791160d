import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AdapterError } from "@shandu/adapter-core";
import { encodeBytes32String, makeError } from "ethers";
import { inboxAbi } from "./abi.ts";
import { classifyRpcError, decodeShanduRevert, rejectionFromRevert, revertData, toAdapterError } from "./errors.ts";

const rejected = (code: string) => inboxAbi.encodeErrorResult("ShanduRejected", [encodeBytes32String(code)]);
/** An ethers error of `code`, as ethers itself builds them (the info is not checked here). */
const ethersError = (code: string, message: string, info: Record<string, unknown> = {}) => makeError(message, code as never, info as never);
const callException = (data: string) => ethersError("CALL_EXCEPTION", "execution reverted", { action: "estimateGas", data });

describe("Shandu reverts", () => {
  test("decode to the contract's error and ASCII code", () => {
    assert.deepEqual(decodeShanduRevert(rejected("ROOT_MISMATCH")), { error: "ShanduRejected", code: "ROOT_MISMATCH" });
    const rot = inboxAbi.encodeErrorResult("ShanduRotationNotAttested", [encodeBytes32String("BAD_SIGNATURE")]);
    assert.deepEqual(decodeShanduRevert(rot), { error: "ShanduRotationNotAttested", code: "BAD_SIGNATURE" });
    assert.equal(decodeShanduRevert("0x08c379a0"), null);
    assert.equal(decodeShanduRevert(undefined), null);
  });

  test("revert data is found where ethers or the node put it", () => {
    const data = rejected("BAD_SIGNATURE");
    assert.equal(revertData(callException(data)), data);
    assert.equal(revertData({ info: { error: { code: 3, data } } }), data);
    assert.equal(revertData({ error: { error: { data } } }), data);
    assert.equal(revertData(new Error("nothing")), undefined);
  });

  test("become DELIVERY_REJECTED with the reason, or LANE_PAUSED", () => {
    const e = rejectionFromRevert(callException(rejected("QUORUM_GROUP_NOT_MET")), "deliver", { firstNonce: 1n });
    assert.equal(e.code, "DELIVERY_REJECTED");
    assert.equal(e.facts.reason, "QUORUM_GROUP_NOT_MET");
    assert.equal(e.facts.firstNonce, 1n);
    assert.equal(e.disposition, "reject");

    const paused = rejectionFromRevert(callException(rejected("LANE_PAUSED")), "deliver");
    assert.equal(paused.code, "LANE_PAUSED");
    assert.equal(paused.disposition, "retry");

    const rot = rejectionFromRevert(
      callException(inboxAbi.encodeErrorResult("ShanduRotationNotAttested", [encodeBytes32String("BAD_SIGNATURE")])),
      "rotate",
    );
    assert.equal(rot.facts.reason, "ROTATION_NOT_ATTESTED");
    assert.equal(rot.facts.detail, "BAD_SIGNATURE");

    const other = rejectionFromRevert(
      callException("0x4e487b710000000000000000000000000000000000000000000000000000000000000011"),
      "deliver",
    );
    assert.equal(other.facts.reason, "REVERTED");
  });
});

describe("RPC failures", () => {
  test("are classified by what a caller can do about them", () => {
    assert.equal(classifyRpcError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })), "unavailable");
    assert.equal(classifyRpcError(ethersError("TIMEOUT", "timeout", { operation: "x" })), "timeout");
    assert.equal(classifyRpcError(ethersError("SERVER_ERROR", "bad gateway", {})), "unavailable");
    assert.equal(classifyRpcError(ethersError("INSUFFICIENT_FUNDS", "funds")), "insufficient-funds");
    assert.equal(classifyRpcError(ethersError("NONCE_EXPIRED", "nonce")), "nonce");
    assert.equal(classifyRpcError(callException("0x")), "revert");
    assert.equal(classifyRpcError(new Error("already known")), "known");
    assert.equal(classifyRpcError(new Error("nonce too low: next nonce 5, tx nonce 4")), "nonce");
    assert.equal(classifyRpcError(new TypeError("x is undefined")), "other");
  });

  test("map to adapter codes with their dispositions", () => {
    const down = toAdapterError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), "eth_chainId");
    assert.equal(down.code, "RPC_UNAVAILABLE");
    assert.equal(down.disposition, "retry");
    assert.equal(toAdapterError(ethersError("TIMEOUT", "timeout", { operation: "x" }), "x").code, "RPC_TIMEOUT");
    assert.equal(toAdapterError(ethersError("INSUFFICIENT_FUNDS", "funds"), "x").code, "INSUFFICIENT_FUNDS");
    const passed = new AdapterError("CLOSED", "closed");
    assert.equal(toAdapterError(passed, "x"), passed);
  });
});
