/**
 * Test helpers of `@shandu/adapter-fabric`: {@link FabricTestPeer}, a test double of a Fabric gateway
 * peer speaking the real `gateway.Gateway` gRPC protocol, and the TEST-ONLY identities of
 * `proofs/test/vectors/fabric/msps.json`.
 */
export { ecdsaDer, parseEcdsaDer, signP256, verifyP256 } from "./ecdsa.ts";
export { type FabricTestIdentity, type FabricTestMsp, fabricTestMsps, p256KeyFromHex } from "./identities.ts";
export { type ShanduChaincodeOptions, shanduChaincodeRunner } from "./shanduChaincode.ts";
export {
  type ChaincodeInvocation,
  type ChaincodeResult,
  type ChaincodeRunner,
  type CommittedTransaction,
  FabricTestPeer,
  type FabricTestPeerOptions,
} from "./testPeer.ts";
