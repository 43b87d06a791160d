// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Bls12381} from "../lib/Bls12381.sol";

/// @notice Exposes the internal functions of `Bls12381` so that tests can compare them with a reference
/// implementation on a real node. For tests only; never deployed by the deploy scripts.
contract BlsHarness {
    function hashToG2(bytes32 message, bytes calldata dst) external view returns (bytes memory) {
        return Bls12381.hashToG2(message, dst);
    }

    function hashBytesToG2(bytes calldata message, bytes calldata dst) external view returns (bytes memory) {
        return Bls12381.hashToG2(message, dst);
    }

    /// @notice Reverts `ShanduRejected("INVALID_SIGNATURE_ENCODING")` for an invalid or infinity signature.
    function verify(bytes calldata key, bytes32 message, bytes calldata signature, bytes calldata dst) external view returns (bool) {
        return Bls12381.verify(key, message, signature, dst);
    }

    /// @notice Sums `keys` (n × 128 bytes) as the inbox does and runs FastAggregateVerify under the signature
    /// DST; returns 0 or the protocol code.
    function verifyAggregate(bytes calldata keys, bytes32 signingRoot, bytes calldata signature) external view returns (bytes32) {
        bytes memory acc = new bytes(2 * Bls12381.G1_BYTES);
        bytes memory all = keys;
        for (uint256 i = 0; i * Bls12381.G1_BYTES < all.length; i++) {
            Bls12381.accumulateG1(acc, all, i * Bls12381.G1_BYTES, i == 0);
        }
        return Bls12381.verifyAggregate(acc, signingRoot, signature);
    }

    function verifyPossession(bytes calldata key, bytes calldata compressedKey, bytes calldata pop) external view returns (bool) {
        return Bls12381.verifyPossession(key, compressedKey, pop);
    }

    function pairingCheck2(bytes calldata g1a, bytes calldata g2a, bytes calldata g1b, bytes calldata g2b)
        external
        view
        returns (bool valid, bool holds)
    {
        return Bls12381.pairingCheck2(g1a, g2a, g1b, g2b);
    }

    function g1InSubgroup(bytes calldata point) external view returns (bool) {
        return Bls12381.g1InSubgroup(point);
    }

    function isValidG1(bytes calldata point) external view returns (bool) {
        return Bls12381.isValidG1(point);
    }

    function addG1(bytes calldata a, bytes calldata b) external view returns (bool ok, bytes memory sum) {
        return Bls12381.addG1(a, b);
    }

    function isInfinity(bytes calldata point) external pure returns (bool) {
        return Bls12381.isInfinity(point);
    }

    function g1Matches(bytes calldata compressed, bytes calldata point) external pure returns (bool) {
        return Bls12381.g1Matches(compressed, point);
    }

    function g2Matches(bytes calldata compressed, bytes calldata point) external pure returns (bool) {
        return Bls12381.g2Matches(compressed, point);
    }

    function compressedG1Matches(bytes calldata compressed, bytes calldata point) external pure returns (bool) {
        return Bls12381.compressedG1Matches(compressed, point);
    }

    function compressedG2Matches(bytes calldata compressed, bytes calldata point) external pure returns (bool) {
        return Bls12381.compressedG2Matches(compressed, point);
    }

    /// @notice Gas spent inside the library by `hashToG2` (no call or calldata overhead).
    function hashToG2Gas(bytes32 message, bytes calldata dst) external view returns (uint256 used) {
        bytes memory d = dst;
        uint256 before = gasleft();
        Bls12381.hashToG2(message, d);
        used = before - gasleft();
    }

    /// @notice Gas spent inside the library by `verify` of a valid signature.
    function verifyGas(bytes calldata key, bytes32 message, bytes calldata signature, bytes calldata dst) external view returns (uint256 used) {
        bytes memory k = key;
        bytes memory s = signature;
        bytes memory d = dst;
        uint256 before = gasleft();
        Bls12381.verify(k, message, s, d);
        used = before - gasleft();
    }
}
