/**
 * A minimal DER reader (ITU-T X.690) and just enough X.509 (RFC 5280) to check that a Fabric identity's
 * certificate was signed by a pinned CA: the signed `tbsCertificate` bytes, the signature algorithm and
 * value, the issuer and subject names (compared as bytes, as chain building does), the validity dates
 * (reported, not enforced) and the subject's P-256 public key.
 *
 * Only what Fabric's default crypto uses is understood: ECDSA with SHA-256 on P-256 (`prime256v1`). A
 * certificate with another key or signature algorithm is refused, not skipped. The reader takes DER
 * only: definite, minimal lengths; low tag numbers; nothing after the certificate. Failures throw
 * {@link EvidenceError} with the code the caller names and `facts.what`, `facts.reason`.
 */
import { bytesEqual } from "../bytes.ts";
import { EvidenceError, type EvidenceErrorCode } from "../errors.ts";

/** One DER element: its tag byte, contents, and the whole encoding (tag, length and contents). */
export interface DerElement {
  tag: number;
  contents: Uint8Array;
  raw: Uint8Array;
}

/** DER tag bytes used here. */
export const DerTag = {
  integer: 0x02,
  bitString: 0x03,
  oid: 0x06,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  explicit0: 0xa0,
} as const;

/** OID contents (without tag and length). */
const OID_EC_PUBLIC_KEY = new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]); // 1.2.840.10045.2.1
const OID_P256 = new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]); // 1.2.840.10045.3.1.7
const OID_ECDSA_SHA256 = new Uint8Array([0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]); // 1.2.840.10045.4.3.2

type Fail = (reason: string) => EvidenceError;

/** Reads the elements that make up `bytes` exactly (a SEQUENCE's contents, or a whole document). */
export function derChildren(bytes: Uint8Array, fail: Fail): DerElement[] {
  const out: DerElement[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const tag = bytes[at++]!;
    if ((tag & 0x1f) === 0x1f) throw fail("high tag number form");
    const first = bytes[at++];
    if (first === undefined) throw fail("truncated length");
    let length = first;
    if (first === 0x80) throw fail("indefinite length");
    if (first > 0x80) {
      const n = first & 0x7f;
      if (n > 4) throw fail("length of more than 4 bytes");
      length = 0;
      for (let i = 0; i < n; i++) {
        const b = bytes[at++];
        if (b === undefined) throw fail("truncated length");
        if (i === 0 && b === 0) throw fail("length with a leading zero byte");
        length = length * 256 + b;
      }
      if (length < 0x80) throw fail("long form for a short length");
    }
    if (length > bytes.length - at) throw fail("truncated contents");
    out.push({ tag, contents: bytes.subarray(at, at + length), raw: bytes.subarray(start, at + length) });
    at += length;
  }
  return out;
}

/** The single element that `bytes` encodes, which must have tag `tag`. */
function only(bytes: Uint8Array, tag: number, what: string, fail: Fail): DerElement {
  const all = derChildren(bytes, fail);
  if (all.length !== 1) throw fail(`${what}: expected one element, found ${all.length}`);
  return expectTag(all[0], tag, what, fail);
}

function expectTag(e: DerElement | undefined, tag: number, what: string, fail: Fail): DerElement {
  if (!e) throw fail(`${what} is missing`);
  if (e.tag !== tag) throw fail(`${what} has tag 0x${e.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return e;
}

const OID_ORGANIZATIONAL_UNIT = new Uint8Array([0x55, 0x04, 0x0b]); // 2.5.4.11
/** Directory string tags a name's values use: UTF8String, PrintableString, IA5String, BMPString is not read. */
const TEXT_TAGS = new Set([0x0c, 0x13, 0x16]);

/**
 * The organizational-unit (OU, 2.5.4.11) values of a DER `Name` (a certificate's subject), in order. Fabric's
 * NodeOUs mark a certificate's role this way (`OU=peer`, `OU=client`, `OU=admin`, `OU=orderer`). Values in
 * a string type other than UTF8String, PrintableString or IA5String are skipped.
 */
export function nameOrganizationalUnits(name: Uint8Array, fail: Fail): string[] {
  const out: string[] = [];
  for (const rdn of derChildren(only(name, DerTag.sequence, "name", fail).contents, fail)) {
    if (rdn.tag !== 0x31) throw fail("a relative distinguished name is not a SET");
    for (const atv of derChildren(rdn.contents, fail)) {
      const [type, value] = derChildren(expectTag(atv, DerTag.sequence, "attribute", fail).contents, fail);
      const oid = expectTag(type, DerTag.oid, "attribute type", fail).contents;
      if (value === undefined || !bytesEqual(oid, OID_ORGANIZATIONAL_UNIT) || !TEXT_TAGS.has(value.tag)) continue;
      out.push(new TextDecoder("utf-8", { fatal: false }).decode(value.contents));
    }
  }
  return out;
}

/** What the verifier uses of an X.509 certificate. */
export interface X509Certificate {
  /** The DER `tbsCertificate`, the bytes the issuer signed. */
  tbs: Uint8Array;
  /** The issuer's DER ECDSA signature over `tbs` (ECDSA with SHA-256). */
  signature: Uint8Array;
  /** DER `Name` of the issuer, compared byte for byte with a CA's subject. */
  issuer: Uint8Array;
  /** DER `Name` of the subject. */
  subject: Uint8Array;
  /** The subject's P-256 public key, 65 bytes uncompressed (`04 ‖ x ‖ y`). */
  publicKey: Uint8Array;
  /** Validity as written (UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime); reported, never checked offline. */
  notBefore: string;
  notAfter: string;
}

/**
 * Reads a DER X.509 certificate whose subject key is P-256 and whose signature is ECDSA with SHA-256.
 * Does not check the signature (see the caller). Throws {@link EvidenceError} `code` naming `what`.
 */
export function parseX509(der: Uint8Array, what: string, code: EvidenceErrorCode): X509Certificate {
  const fail: Fail = (reason) =>
    new EvidenceError(code, `${what} is not an X.509 certificate this verifier reads: ${reason}`, {
      facts: { what, reason },
    });
  const cert = only(der, DerTag.sequence, "Certificate", fail);
  const [tbsEl, algEl, sigEl, ...rest] = derChildren(cert.contents, fail);
  if (rest.length > 0) throw fail("Certificate has more than three elements");
  const tbs = expectTag(tbsEl, DerTag.sequence, "tbsCertificate", fail);
  const alg = expectTag(algEl, DerTag.sequence, "signatureAlgorithm", fail);
  const sig = expectTag(sigEl, DerTag.bitString, "signatureValue", fail);
  if (!isEcdsaSha256(alg.contents, fail)) throw fail("signatureAlgorithm is not ecdsa-with-SHA256");
  if (sig.contents[0] !== 0) throw fail("signatureValue has unused bits");

  const fields = derChildren(tbs.contents, fail);
  let i = fields[0]?.tag === DerTag.explicit0 ? 1 : 0; // version [0] EXPLICIT, absent for v1
  expectTag(fields[i++], DerTag.integer, "serialNumber", fail);
  const innerAlg = expectTag(fields[i++], DerTag.sequence, "signature", fail);
  if (!bytesEqual(innerAlg.raw, alg.raw)) throw fail("tbsCertificate.signature differs from signatureAlgorithm");
  const issuer = expectTag(fields[i++], DerTag.sequence, "issuer", fail);
  const validity = derChildren(expectTag(fields[i++], DerTag.sequence, "validity", fail).contents, fail);
  const subject = expectTag(fields[i++], DerTag.sequence, "subject", fail);
  const spki = derChildren(expectTag(fields[i++], DerTag.sequence, "subjectPublicKeyInfo", fail).contents, fail);
  const time = (e: DerElement | undefined, name: string) => {
    if (!e || (e.tag !== DerTag.utcTime && e.tag !== DerTag.generalizedTime)) throw fail(`${name} is not a time`);
    return String.fromCharCode(...e.contents);
  };
  const [keyAlg, keyBits] = spki;
  const keyAlgIds = derChildren(expectTag(keyAlg, DerTag.sequence, "subjectPublicKeyInfo.algorithm", fail).contents, fail);
  if (
    spki.length !== 2 ||
    keyAlgIds.length !== 2 ||
    !bytesEqual(expectTag(keyAlgIds[0], DerTag.oid, "key algorithm", fail).contents, OID_EC_PUBLIC_KEY) ||
    !bytesEqual(expectTag(keyAlgIds[1], DerTag.oid, "key curve", fail).contents, OID_P256)
  ) {
    throw fail("the subject key is not an EC key on P-256");
  }
  const bits = expectTag(keyBits, DerTag.bitString, "subjectPublicKey", fail).contents;
  if (bits.length !== 66 || bits[0] !== 0 || bits[1] !== 0x04) throw fail("the subject key is not an uncompressed P-256 point");
  return {
    tbs: tbs.raw,
    signature: sig.contents.subarray(1),
    issuer: issuer.raw,
    subject: subject.raw,
    publicKey: bits.subarray(1),
    notBefore: time(validity[0], "notBefore"),
    notAfter: time(validity[1], "notAfter"),
  };
}

/** Whether an AlgorithmIdentifier's contents are ecdsa-with-SHA256 (parameters absent, RFC 5758 §3.2). */
function isEcdsaSha256(contents: Uint8Array, fail: Fail): boolean {
  const ids = derChildren(contents, fail);
  return ids.length === 1 && ids[0]!.tag === DerTag.oid && bytesEqual(ids[0]!.contents, OID_ECDSA_SHA256);
}

const PEM_CERT = /^-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)\r?\n?-----END CERTIFICATE-----\r?\n?$/;

/**
 * The DER bytes of a single PEM `CERTIFICATE` block (as Fabric stores certificates: MSP folders,
 * `SerializedIdentity.id_bytes`). Surrounding whitespace is allowed, nothing else. Returns `null` when
 * the text is not one such block.
 */
export function pemCertificate(text: string): Uint8Array | null {
  const m = PEM_CERT.exec(text.trim() + "\n");
  if (!m) return null;
  try {
    const bin = atob(m[1]!.replace(/[\r\n]/g, ""));
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}
