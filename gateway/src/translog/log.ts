/**
 * The server side of the transparency log: leaf hashes in memory with every perfect, aligned subtree
 * hash cached as it completes, so an append costs O(1) amortised and the root or a proof of any tree
 * size costs O(log n) hashes (plus O(log n) cache reads). Proofs follow RFC 6962 §2.1.1 (PATH) and
 * §2.1.2 (PROOF / SUBPROOF); `@shandu/proofs` verifies them (RFC 9162 §2.1.3.2 / §2.1.4.2).
 *
 * Trust: the leaf hashes are the gateway's own (computed from batches it attested), so they are not
 * re-derived here, only checked to be 32 bytes. Sizes and indices come from API callers and are checked
 * against the log; the log lives in memory and is rebuilt from the store on start.
 */
import { EMPTY_LOG_ROOT, nodeHash } from "@shandu/proofs";
import { GatewayError } from "../errors.ts";

/** An append-only RFC 6962 Merkle log over 32-byte leaf hashes. Not safe for concurrent mutation. */
export class MerkleLog {
  /** levels[j][i]: hash of leaves [i·2^j, (i+1)·2^j). */
  readonly #levels: Uint8Array[][] = [[]];

  /** A log holding `hashes` in order. Throws what {@link MerkleLog.append} throws. */
  static fromLeafHashes(hashes: Iterable<Uint8Array>): MerkleLog {
    const log = new MerkleLog();
    for (const h of hashes) log.append(h);
    return log;
  }

  /** Number of leaves. */
  get size(): bigint {
    return BigInt(this.#levels[0]!.length);
  }

  /**
   * Appends a leaf hash (`leafHash(logLeafData(...))` from `@shandu/proofs`); returns its index. O(1)
   * amortised: each completed aligned subtree is hashed once. Throws `INVALID_REQUEST` unless 32 bytes.
   */
  append(leafHash: Uint8Array): bigint {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== 32)
      throw new GatewayError("INVALID_REQUEST", "a log leaf hash is 32 bytes", { facts: { field: "leafHash" } });
    const index = this.#levels[0]!.length;
    this.#levels[0]!.push(leafHash);
    let j = 0;
    let count = index + 1;
    while (count % 2 === 0) {
      const level = this.#levels[j]!;
      const parent = nodeHash(level[level.length - 2]!, level[level.length - 1]!);
      if (!this.#levels[j + 1]) this.#levels[j + 1] = [];
      this.#levels[j + 1]!.push(parent);
      j++;
      count /= 2;
    }
    return BigInt(index);
  }

  /** The leaf hash at `index`. Throws `NOT_FOUND` for an index outside the log. */
  leaf(index: bigint): Uint8Array {
    const h = index >= 0n && index < this.size ? this.#levels[0]![Number(index)] : undefined;
    if (!h) throw new GatewayError("NOT_FOUND", "no such log leaf", { facts: { index } });
    return h;
  }

  #check(n: bigint, field: string): number {
    if (n < 0n || n > this.size)
      throw new GatewayError("NOT_FOUND", `the log has no tree of size ${n}`, { facts: { [field]: n, logSize: this.size } });
    return Number(n);
  }

  /** MTH of leaves [a, b), b > a. */
  #hash(a: number, b: number): Uint8Array {
    const n = b - a;
    if ((n & (n - 1)) === 0 && a % n === 0) {
      const j = Math.log2(n);
      return this.#levels[j]![a / n]!;
    }
    const k = largestPowerOfTwoBelow(n);
    return nodeHash(this.#hash(a, a + k), this.#hash(a + k, b));
  }

  /** The root of the log's first `size` leaves: O(log n). Throws `NOT_FOUND` for a size beyond the log. */
  root(size: bigint = this.size): Uint8Array {
    const n = this.#check(size, "treeSize");
    return n === 0 ? EMPTY_LOG_ROOT : this.#hash(0, n);
  }

  /**
   * RFC 6962 PATH(index, D[0:treeSize]), innermost sibling first. Throws `NOT_FOUND` unless
   * 0 ≤ index < treeSize ≤ size.
   */
  inclusionProof(index: bigint, treeSize: bigint): Uint8Array[] {
    const n = this.#check(treeSize, "treeSize");
    const m = Number(index);
    if (index < 0n || m >= n) throw new GatewayError("NOT_FOUND", "leaf index is not below the tree size", { facts: { index, treeSize } });
    const out: Uint8Array[] = [];
    const path = (m: number, a: number, b: number): void => {
      if (b - a === 1) return;
      const k = largestPowerOfTwoBelow(b - a);
      if (m < k) {
        path(m, a, a + k);
        out.push(this.#hash(a + k, b));
      } else {
        path(m - k, a + k, b);
        out.push(this.#hash(a, a + k));
      }
    };
    path(m, 0, n);
    return out;
  }

  /**
   * RFC 6962 PROOF(fromSize, D[0:toSize]); empty when fromSize is 0 or equals toSize. Throws `NOT_FOUND`
   * unless 0 ≤ fromSize ≤ toSize ≤ size.
   */
  consistencyProof(fromSize: bigint, toSize: bigint): Uint8Array[] {
    const n = this.#check(toSize, "toSize");
    const m0 = this.#check(fromSize, "fromSize");
    if (m0 > n) throw new GatewayError("NOT_FOUND", "the old size exceeds the new one", { facts: { fromSize, toSize } });
    if (m0 === 0 || m0 === n) return [];
    const out: Uint8Array[] = [];
    const sub = (m: number, a: number, b: number, complete: boolean): void => {
      if (m === b - a) {
        if (!complete) out.push(this.#hash(a, b));
        return;
      }
      const k = largestPowerOfTwoBelow(b - a);
      if (m <= k) {
        sub(m, a, a + k, complete);
        out.push(this.#hash(a + k, b));
      } else {
        sub(m - k, a + k, b, false);
        out.push(this.#hash(a, a + k));
      }
    };
    sub(m0, 0, n, true);
    return out;
  }
}

/** The largest power of two strictly below n (n ≥ 2). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
