/** Errors of the FISCO BCOS codecs: malformed bytes, unsupported shapes, signatures that do not check. */
import { ShanduError } from "@shandu/proofs";

export type FiscoErrorCode =
  /** The bytes end inside a field, a length is impossible, or a field has the wrong type. */
  | "TARS_MALFORMED"
  /** The RLP is not the shape of a FISCO BCOS 2.x transaction. */
  | "RLP_MALFORMED"
  /** A required field is missing. */
  | "FIELD_MISSING"
  /** The signature has a length no supported scheme uses. */
  | "SIGNATURE_MALFORMED"
  /** The signature does not verify (or recovers no key) over the transaction hash. */
  | "BAD_SIGNATURE"
  /** The transaction carries a hash that is not the hash of its fields. */
  | "HASH_MISMATCH";

export class FiscoError extends ShanduError<FiscoErrorCode> {
  override readonly name = "FiscoError";
}
