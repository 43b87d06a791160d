/** `@shandu/adapter-fisco-bcos/testing` — a test double of a FISCO BCOS 3.x node's JSON-RPC. */
export { type FakeFiscoNode, type FakeFiscoNodeOptions, startFakeFiscoNode } from "./fakeFiscoNode.ts";
