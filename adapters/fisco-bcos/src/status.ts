/**
 * FISCO BCOS 3.x transaction status codes (`bcos-protocol/bcos-protocol/TransactionStatus.h`, enum
 * `TransactionStatus`) and the error the JSON-RPC client raises when a node refuses a transaction or a
 * transaction or call does not succeed.
 *
 * Codes below 10000 are execution results and travel in a receipt's `status` (a revert is
 * `RevertInstruction`, 16, with the revert data as `output`); codes from 10000 are the transaction
 * pool's verdicts, which a node returns as the JSON-RPC error `{code, message}` of `sendTransaction`,
 * with the status's name as the message (`bcos-txpool/bcos-txpool/txpool/storage/MemoryStorage.cpp`,
 * `submitTransaction`). Failures the RPC layer itself detects — an undecodable transaction, a hash that
 * does not match its fields, a foreign chain id — come back as code −1
 * (`bcos-rpc/bcos-rpc/jsonrpc/JsonRpcImpl_2_0.cpp`, `sendTransaction`).
 */
import { type Disposition, ShanduError } from "@shandu/proofs";

/** `TransactionStatus` values of FISCO BCOS 3.x (v3.16). */
export const FiscoTransactionStatus = {
  None: 0,
  Unknown: 1,
  OutOfGasLimit: 2,
  NotEnoughCash: 7,
  BadInstruction: 10,
  BadJumpDestination: 11,
  OutOfGas: 12,
  OutOfStack: 13,
  StackUnderflow: 14,
  PrecompiledError: 15,
  RevertInstruction: 16,
  ContractAddressAlreadyUsed: 17,
  PermissionDenied: 18,
  CallAddressError: 19,
  GasOverflow: 20,
  ContractFrozen: 21,
  AccountFrozen: 22,
  AccountAbolished: 23,
  ContractAbolished: 24,
  WASMValidationFailure: 32,
  WASMArgumentOutOfRange: 33,
  WASMUnreachableInstruction: 34,
  WASMTrap: 35,
  NonceCheckFail: 10000,
  BlockLimitCheckFail: 10001,
  TxPoolIsFull: 10002,
  Malformed: 10003,
  AlreadyInTxPool: 10004,
  TxAlreadyInChain: 10005,
  InvalidChainId: 10006,
  InvalidGroupId: 10007,
  InvalidSignature: 10008,
  RequestNotBelongToTheGroup: 10009,
  TransactionPoolTimeout: 10010,
  AlreadyInTxPoolAndAccept: 10011,
  OverFlowValue: 10012,
  MaxInitCodeSizeExceeded: 10013,
  SenderNoEOA: 10014,
  InsufficientFunds: 10015,
} as const;

export type FiscoTransactionStatusName = keyof typeof FiscoTransactionStatus;

const names = new Map<number, string>(Object.entries(FiscoTransactionStatus).map(([k, v]) => [v, k]));
// `operator<<` prints this one under another name, and that text is what a node sends as the message.
names.set(FiscoTransactionStatus.Malformed, "MalformTx");

/** The name a node prints for status `code` (`operator<<` in `TransactionStatus.h`); "Unknown" for others. */
export function fiscoStatusName(code: number): string {
  return names.get(code) ?? "Unknown";
}

export type FiscoTransactionErrorCode =
  /** The node refused the transaction before executing it; `facts.status` is its code (e.g. 10000, −1). */
  | "TX_REFUSED"
  /** A `call` answered a non-zero status; `output` has what it returned (for a revert, the revert data). */
  | "CALL_FAILED";

/** Pool verdicts that can pass when the same bytes are sent again later. */
/**
 * Refusals a new attempt can get past: a full or slow pool, and a block limit the chain moved past
 * between reading its height and admitting the transaction (the next attempt sets a fresh limit).
 */
const TRANSIENT = new Set<number>([
  FiscoTransactionStatus.TxPoolIsFull,
  FiscoTransactionStatus.TransactionPoolTimeout,
  FiscoTransactionStatus.BlockLimitCheckFail,
]);

/**
 * A transaction the node refused, or a call that did not succeed, with FISCO's status code (`facts.status`), its name
 * (`facts.statusName`) and the node's message. `reject` unless a new attempt can get past it (see `TRANSIENT`).
 */
export class FiscoTransactionError extends ShanduError<FiscoTransactionErrorCode> {
  override readonly name = "FiscoTransactionError";
  /** FISCO's status code: the call's status, or the code of the node's error answer. */
  readonly status: number;
  /** The call's output (for a revert, the revert data); empty for a refusal. */
  readonly output: Uint8Array;

  constructor(
    code: FiscoTransactionErrorCode,
    shortMessage: string,
    o: { status: number; output?: Uint8Array; facts?: ShanduError["facts"]; cause?: unknown },
  ) {
    const disposition: Disposition = code === "TX_REFUSED" && TRANSIENT.has(o.status) ? "retry" : "reject";
    super(code, shortMessage, {
      facts: { ...o.facts, status: o.status, statusName: fiscoStatusName(o.status) },
      cause: o.cause,
      disposition,
    });
    this.status = o.status;
    this.output = o.output ?? new Uint8Array(0);
  }
}
