// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {BatchHeader, IShanduInboxCore, ShanduRejected} from "../interfaces/IShandu.sol";
import {CommitteeCore} from "../lib/CommitteeCore.sol";
import {ViewStore} from "../lib/ViewStore.sol";
import {ShanduInboxBase, ShanduRotationNotAttested} from "../ShanduInboxBase.sol";
import {IShanduNativeInbox, NativeAttestation, NativeCommitteeInput} from "./interfaces/IShanduNativeInbox.sol";
import {NativeCommittees} from "./lib/NativeCommittees.sol";
import {ShanduNativeCommitteeValidator} from "./ShanduNativeCommitteeValidator.sol";

/// @title Shandu inbox for FISCO BCOS (native-key attestations)
/// @notice The destination side on chains without a BLS12-381 verifier. FISCO BCOS has no EIP-2537
/// precompiles, so the committee also co-signs every signing root with chain-native keys (secp256k1 on an
/// ECDSA chain, SM2 on an SM chain) and this inbox checks k-of-n of those co-signatures under the
/// committee's own quorum policy (proofs/src/native.ts). Everything else is `ShanduInboxBase`'s and
/// behaves as in `ShanduInbox`: inclusion first, then the attestation, then exactly-once execution,
/// `retry`, lane pause and resume by attested governance messages, rotation records with the same checks
/// and codes.
///
/// Trust: exactly as `ShanduInbox`, the genesis committee given at deployment is trusted as it is, and later
/// committees arrive only in rotation records co-signed by a native quorum of the committee before them.
/// This contract cannot check BLS keys or their proofs of possession (that needs a pairing); it decodes the
/// genesis strictly and checks everything else it can: unique ids and BLS keys, native keys that are curve
/// points and the keys committed in the encoding, the threshold and group rules, and that the members
/// holding a key of the scheme can meet the policy. The BLS aggregate of each batch travels in its proof
/// bundle for auditors. Nobody can replace a committee, pause a lane or upgrade the contract by key.
///
/// EVM: built for Paris (no PUSH0, MCOPY or transient storage), which FISCO BCOS 3.x executes. FISCO BCOS
/// 2.x (an Istanbul-era EVM) is not a target. Block time: FISCO's TIMESTAMP opcode gives the block header's
/// milliseconds unless the chain enables `feature_evm_timestamp` (3.12 and later; FISCO-BCOS
/// `bcos-executor/src/vm/HostContext.cpp` `HostContext::timestamp`), so the inbox divides `block.timestamp`
/// by `timestampUnitsPerSecond` before comparing it with activation times and grace periods, which are in
/// seconds.
///
/// Hashes: on a FISCO SM chain the KECCAK256 opcode computes SM3. The inbox finds out at deployment
/// (`hashSuite`) and calls FISCO's precompile and the recipients' `shanduReceive` with selectors under the
/// chain's hash, as contracts built with FISCO's SM toolchain answer them. Its own selectors, event topics
/// and error selectors are fixed by the compiler that built it: keccak-256 with the standard compiler
/// (deploy/artifacts/contracts.json), on every chain. Protocol hashes are SHA-256 (precompile 0x02).
contract ShanduNativeInbox is ShanduInboxBase, IShanduNativeInbox {
    /// @dev keccak-256 and SM3 of the one byte 0x01 (scheme secp256k1) and 0x02 (SM2): what the KECCAK256
    /// opcode computes for the scheme byte on an ECDSA chain and on an SM chain.
    bytes32 internal constant KECCAK_OF_1 = 0x5fe7f977e71dba2ea1a68e21057beebb9be2ac30c6410aa38d4f3fbe41dcffd2;
    bytes32 internal constant KECCAK_OF_2 = 0xf2ee15ea639b73fa3db9b34a245bdfa015c260c598b211bf05a1ecc4b3e3b4f2;
    bytes32 internal constant SM3_OF_1 = 0x799b719ac031fc89c6d8925a487dad07308f837b7ab7bbc7cebd3a4118fd2f38;
    bytes32 internal constant SM3_OF_2 = 0xc1be86994ae8741d802cf422ce0bc117680ad2b139857a378f9573a6f9ec35ad;
    /// @dev The first four bytes of keccak-256 and of SM3 of "sm2Verify(bytes32,bytes,bytes32,bytes32)" and
    /// of "shanduReceive(uint64,bytes,uint64,bytes)".
    bytes4 internal constant SM2_VERIFY_KECCAK = 0xcbdb3a67;
    bytes4 internal constant SM2_VERIFY_SM3 = 0x22ede61e;
    bytes4 internal constant RECEIVE_KECCAK = 0x1fb3abbe;
    bytes4 internal constant RECEIVE_SM3 = 0x7e1a27fa;
    uint8 internal constant HASH_KECCAK = 1;
    uint8 internal constant HASH_SM3 = 2;

    /// @notice 1 = secp256k1, 2 = SM2 (§4.6).
    uint8 public immutable scheme;
    /// @notice FISCO's crypto precompile (3.x: 0x100a, 2.x: 0x5006) for SM2; 0 for secp256k1.
    address public immutable sm2Precompile;
    /// @notice The selector this chain's precompile answers `sm2Verify` to (0 for secp256k1): FISCO hashes
    /// precompile selectors with the chain's hash (`getFuncSelector(name, hashImpl)`).
    bytes4 public immutable sm2VerifySelector;
    /// @notice What this chain's KECCAK256 opcode computes, found at deployment: 1 = keccak-256, 2 = SM3 (a
    /// FISCO BCOS SM chain: bcos-executor/src/vm/HostContext.cpp `evm_hash_fn` hashes with the chain's hash).
    uint8 public immutable hashSuite;
    /// @notice `block.timestamp` units per second: 1000 on FISCO BCOS (milliseconds), 1 on chains that count
    /// seconds.
    uint32 public immutable timestampUnitsPerSecond;
    /// @notice Created by the constructor; decodes and validates incoming committees.
    ShanduNativeCommitteeValidator public immutable validator;

    /// @dev 1 = free, 2 = taken (storage: Paris has no transient storage).
    uint256 private _locked = 1;

    modifier nonReentrant() {
        if (_locked != 1) revert ShanduRejected("REENTRANT_CALL");
        _locked = 2;
        _;
        _locked = 1;
    }

    /// @param chainId_ this chain's id in the alliance (not 0).
    /// @param scheme_ the native key scheme whose co-signatures count: 1 = secp256k1 (needs a chain whose
    /// KECCAK256 is keccak-256, as `ecrecover` names keccak addresses), 2 = SM2.
    /// @param sm2Precompile_ FISCO's crypto precompile for SM2 (3.x: 0x100a, 2.x: 0x5006); must be 0 for
    /// secp256k1 and not 0 for SM2.
    /// @param timestampUnitsPerSecond_ 1000 on FISCO BCOS (unless `feature_evm_timestamp` is on), 1 elsewhere.
    /// @param genesis the genesis committee and its members' keys of the scheme, trusted from deployment.
    /// @param governance the only sender, per source chain, whose governance messages the inbox obeys.
    constructor(
        uint64 chainId_,
        uint8 scheme_,
        address sm2Precompile_,
        uint32 timestampUnitsPerSecond_,
        NativeCommitteeInput memory genesis,
        GovernanceSource[] memory governance
    ) ShanduInboxBase(chainId_, CommitteeCore.encodedEpoch(genesis.encoding), _hashSuite(scheme_) == HASH_SM3 ? RECEIVE_SM3 : RECEIVE_KECCAK) {
        if (scheme_ != NativeCommittees.SECP256K1 && scheme_ != NativeCommittees.SM2) revert ShanduRejected("INVALID_NATIVE_SCHEME");
        if ((scheme_ == NativeCommittees.SM2) != (sm2Precompile_ != address(0))) revert ShanduRejected("INVALID_NATIVE_VERIFIER");
        if (timestampUnitsPerSecond_ == 0) revert ShanduRejected("INVALID_TIMESTAMP_UNITS");
        uint8 suite = _hashSuite(scheme_);
        if (scheme_ == NativeCommittees.SECP256K1 && suite != HASH_KECCAK) revert ShanduRejected("NATIVE_SCHEME_UNSUPPORTED");
        scheme = scheme_;
        sm2Precompile = sm2Precompile_;
        sm2VerifySelector = scheme_ == NativeCommittees.SECP256K1 ? bytes4(0) : suite == HASH_SM3 ? SM2_VERIFY_SM3 : SM2_VERIFY_KECCAK;
        hashSuite = suite;
        timestampUnitsPerSecond = timestampUnitsPerSecond_;
        validator = new ShanduNativeCommitteeValidator(scheme_);
        (, bytes32 h, address v) = validator.register(genesis);
        _start(h, v, governance);
    }

    // ------------------------------------------------------------------------------------------ rotation

    /// @inheritdoc IShanduNativeInbox
    function rotate(
        uint64 fromEpoch,
        bytes32 fromCommitteeSetHash,
        NativeCommitteeInput calldata to,
        uint64 activatesAtSeconds,
        uint32 graceSeconds,
        NativeAttestation calldata attestation
    ) external nonReentrant {
        (bool registered, bytes memory fromView, bytes32 toHash, bytes32 root) =
            _rotationStart(fromEpoch, fromCommitteeSetHash, to.encoding, activatesAtSeconds, graceSeconds);
        if (registered) return;
        validator.parse(to.encoding);
        bytes32 code = NativeCommittees.checkAttestation(fromView, attestation, root, _verifier());
        if (code != 0) revert ShanduRotationNotAttested(code);
        (,, address v) = validator.register(to);
        _rotationFinish(fromEpoch, toHash, v, activatesAtSeconds, graceSeconds);
    }

    // ------------------------------------------------------------------------------------------ delivery

    /// @inheritdoc IShanduNativeInbox
    function deliver(BatchHeader calldata h, NativeAttestation calldata a, bytes[] calldata messages, bytes32[] calldata siblings)
        external
        nonReentrant
        deliverable(h, messages)
    {
        bytes32[] memory ids = _proveInclusion(h, messages, siblings);
        _checkAttestation(h, a);
        _executeAll(h, messages, ids);
    }

    /// @inheritdoc IShanduInboxCore
    function retry(bytes calldata message) external nonReentrant {
        _retry(message);
    }

    /// @notice This block's time in seconds: `block.timestamp / timestampUnitsPerSecond`.
    function nowSeconds() public view returns (uint64) {
        return uint64(block.timestamp / timestampUnitsPerSecond);
    }

    /// @dev The committee of the attestation's epoch, as of this block's time, and the attestation itself.
    function _checkAttestation(BatchHeader calldata h, NativeAttestation calldata a) private view {
        bytes32 status = epochStatus(a.epoch, nowSeconds());
        if (status != 0) revert ShanduRejected(status);
        bytes memory v = ViewStore.read(_epochs[a.epoch].view_);
        bytes32 code = NativeCommittees.checkAttestation(v, a, batchSigningRoot(CommitteeCore.viewSetHash(v), a.epoch, h), _verifier());
        if (code != 0) revert ShanduRejected(code);
    }

    /// @dev What the KECCAK256 opcode computes on this chain: its answer for a byte known only at run time
    /// (from the scheme argument, so that the compiler cannot compute it), compared with both hashes of it.
    function _hashSuite(uint8 scheme_) private pure returns (uint8) {
        uint8 b = scheme_ == NativeCommittees.SM2 ? 2 : 1;
        bytes32 probe = keccak256(abi.encodePacked(b));
        if (probe == (b == 1 ? KECCAK_OF_1 : KECCAK_OF_2)) return HASH_KECCAK;
        if (probe == (b == 1 ? SM3_OF_1 : SM3_OF_2)) return HASH_SM3;
        revert ShanduRejected("UNKNOWN_HASH_SUITE");
    }

    function _verifier() private view returns (NativeCommittees.Verifier memory) {
        return NativeCommittees.Verifier(scheme, sm2Precompile, sm2VerifySelector);
    }
}
