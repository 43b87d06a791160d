/**
 * ECDSA P-256 with SHA-256 the way Fabric's BCCSP does it: DER signatures with low S (a peer refuses
 * high-S signatures as malleable).
 */
import { createPublicKey, type KeyObject, sign, verify, X509Certificate } from "node:crypto";

const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_N = N >> 1n;

function intDer(v: bigint): Uint8Array {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, "hex");
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
}

/** DER `SEQUENCE { INTEGER r, INTEGER s }`. */
export function ecdsaDer(r: bigint, s: bigint): Uint8Array {
  const body = Buffer.concat([intDer(r), intDer(s)]);
  return Uint8Array.from(Buffer.concat([Buffer.from([0x30, body.length]), body]));
}

/** `[r, s]` of a DER ECDSA signature, or `undefined` if it is not one. */
export function parseEcdsaDer(sig: Uint8Array): [bigint, bigint] | undefined {
  if (sig.length < 8 || sig[0] !== 0x30 || sig[1] !== sig.length - 2) return undefined;
  const out: bigint[] = [];
  let i = 2;
  for (let k = 0; k < 2; k++) {
    if (sig[i] !== 0x02) return undefined;
    const len = sig[i + 1] ?? 0;
    if (len === 0 || i + 2 + len > sig.length) return undefined;
    out.push(BigInt(`0x${Buffer.from(sig.subarray(i + 2, i + 2 + len)).toString("hex")}`));
    i += 2 + len;
  }
  if (i !== sig.length) return undefined;
  return [out[0]!, out[1]!];
}

/** A low-S DER ECDSA P-256 signature over SHA-256(`data`). */
export function signP256(key: KeyObject, data: Uint8Array): Uint8Array {
  const raw = sign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
  const r = BigInt(`0x${raw.subarray(0, 32).toString("hex")}`);
  let s = BigInt(`0x${raw.subarray(32).toString("hex")}`);
  if (s > HALF_N) s = N - s;
  return ecdsaDer(r, s);
}

/** Whether `sig` is a low-S DER ECDSA signature over SHA-256(`data`) by the certificate's P-256 key. */
export function verifyP256(certificatePem: string, data: Uint8Array, sig: Uint8Array): boolean {
  const rs = parseEcdsaDer(sig);
  if (!rs || rs[1] > HALF_N) return false;
  try {
    const key = createPublicKey(new X509Certificate(certificatePem).publicKey.export({ format: "pem", type: "spki" }));
    return verify("sha256", data, { key, dsaEncoding: "der" }, sig);
  } catch {
    return false;
  }
}
