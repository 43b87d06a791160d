/** The FISCO BCOS error type lives with the codecs in `@shandu/proofs`; re-exported for adapter users. */
export { FiscoError, type FiscoErrorCode } from "@shandu/proofs";
