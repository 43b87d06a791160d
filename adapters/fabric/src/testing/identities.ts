/**
 * TEST-ONLY Fabric identities: the P-256 CA and peer keys of `proofs/test/vectors/fabric/msps.json`
 * (made by `proofs/test/generate-fabric-vectors.ts`; their private keys are public). Never use them
 * outside tests.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** One Fabric identity: an MSP id, its PEM certificate and the matching P-256 private key. */
export interface FabricTestIdentity {
  mspId: string;
  certificatePem: string;
  privateKey: KeyObject;
}

/** A test MSP: its root CA certificate and one peer identity it issued. */
export interface FabricTestMsp {
  mspId: string;
  caPem: string;
  peer: FabricTestIdentity;
}

interface MspsJson {
  msps: Record<string, { ca: string; peer: { cert: string; key: string } }>;
  rogue: { ca: string; peer: { cert: string; key: string } };
}

const VECTORS = fileURLToPath(new URL("../../../../proofs/test/vectors/fabric/msps.json", import.meta.url));

/** A P-256 private key object from its 32-byte scalar (hex) and the certificate holding its public key. */
export function p256KeyFromHex(hex: string, certificatePem: string): KeyObject {
  const pub = new X509Certificate(certificatePem).publicKey.export({ format: "jwk" });
  return createPrivateKey({
    key: { kty: "EC", crv: "P-256", x: pub.x, y: pub.y, d: Buffer.from(hex, "hex").toString("base64url") },
    format: "jwk",
  });
}

/** The test MSPs `Org1MSP`, `Org2MSP`, `Org3MSP` and a `rogue` CA no channel trusts (its peer claims Org1MSP). */
export function fabricTestMsps(): { msps: FabricTestMsp[]; rogue: FabricTestMsp } {
  const json = JSON.parse(readFileSync(VECTORS, "utf8")) as MspsJson;
  const msp = (mspId: string, v: { ca: string; peer: { cert: string; key: string } }): FabricTestMsp => ({
    mspId,
    caPem: v.ca,
    peer: { mspId, certificatePem: v.peer.cert, privateKey: p256KeyFromHex(v.peer.key, v.peer.cert) },
  });
  return { msps: Object.entries(json.msps).map(([id, v]) => msp(id, v)), rogue: msp("Org1MSP", json.rogue) };
}
