// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {BatchHeader, IShanduInboxCore, ShanduRejected} from "./interfaces/IShandu.sol";
import {BatchTree} from "./lib/BatchTree.sol";
import {CommitteeCore} from "./lib/CommitteeCore.sol";
import {MessageCodec} from "./lib/MessageCodec.sol";
import {ViewStore} from "./lib/ViewStore.sol";

/// @notice Carries the refusal of a rotation whose attestation failed, with the attestation's code as the reason.
error ShanduRotationNotAttested(bytes32 reason);

/// @title What every Shandu inbox does besides checking attestations
/// @notice The epoch registry with its grace periods (docs/protocol.md §7.4) and the checks of a rotation
/// record that need no signature (§7.3), batch inclusion (§3), exactly-once execution with the compact
/// replay protection, recipient calls, governance (lane pause and resume from the sender fixed at
/// deployment) and `retry`. An inbox adds `deliver` and `rotate` with its own attestation check and
/// committee registry: `ShanduInbox` (BLS on EIP-2537) and `ShanduNativeInbox` (chain-native keys, for
/// FISCO BCOS). Compiles for Paris as well as Prague: the re-entrancy lock is the inbox's own
/// (`nonReentrant`), so that one built for Prague can keep it in transient storage.
abstract contract ShanduInboxBase is IShanduInboxCore {
    using MessageCodec for bytes;

    bytes16 internal constant ATTEST_DOMAIN = "SHANDU-ATTEST-v1";
    bytes16 internal constant ROTATE_DOMAIN = "SHANDU-ROTATE-v1";
    /// @notice Gas each recipient call gets. A recipient that needs more should record the message and do
    /// the work in a later transaction of its own.
    uint256 public constant RECIPIENT_GAS = 500_000;
    uint8 internal constant GOV_PAUSE = 1;
    uint8 internal constant GOV_RESUME = 2;

    struct GovernanceSource {
        uint64 chainId;
        bytes sender;
    }

    /// @dev One slot per epoch: where its view is stored, when it activates, and the grace of the rotation to it.
    struct EpochRecord {
        address view_;
        /// @dev u40 (until the year 36812) so that the record and `superseded` fit one slot.
        uint40 activatesAt;
        uint32 graceSeconds;
        /// @dev Set when the next epoch is registered, so that checking the latest committee reads one slot.
        bool superseded;
    }

    uint64 public immutable chainId;
    uint64 public immutable genesisEpoch;
    /// @dev The selector of `IShanduReceiver.shanduReceive` as recipients on this chain answer to it,
    /// left-aligned in a word: the first four bytes of the hash of its signature under the chain's hash
    /// (SM3 on a FISCO BCOS SM chain, whose compiler and SDKs hash selectors with SM3; keccak-256 elsewhere).
    uint256 internal immutable _receiveSelector;
    uint64 public latestEpoch;

    mapping(uint64 epoch => EpochRecord) internal _epochs;
    /// @dev Per lane (by source chain), one slot: every nonce below `next` is consumed; `paused` is the
    /// governance switch; `sparse` is set once a nonce above `next` was consumed, after which nonces at or
    /// above `next` are also looked up in `_consumedAbove`. Outboxes number each lane from 0 and relayers
    /// deliver in order, so the usual delivery reads and writes this one slot.
    struct Lane {
        uint64 next;
        bool paused;
        bool sparse;
    }

    mapping(uint64 sourceChainId => Lane) internal _lanes;
    /// @dev Nonces consumed out of order: bit (nonce & 255) of word (nonce >> 8), per source chain.
    mapping(uint64 sourceChainId => mapping(uint256 word => uint256)) internal _consumedAbove;
    /// @dev keccak256 of the only sender whose governance messages from a source chain are obeyed. (On a
    /// FISCO BCOS SM chain the KECCAK256 opcode computes SM3; the hash is only compared with itself.)
    mapping(uint64 sourceChainId => bytes32) public governanceSender;
    /// @dev Consumed messages whose execution failed, by message id; `retry` may run them once more.
    mapping(bytes32 messageId => bool) public failed;

    /// @param genesisEpoch_ the epoch of the genesis committee the inbox registers in its constructor, read
    /// from the encoding with `CommitteeCore.encodedEpoch` before the registry decodes it.
    /// @param receiveSelector_ the selector recipients answer `shanduReceive` to on this chain.
    constructor(uint64 chainId_, uint64 genesisEpoch_, bytes4 receiveSelector_) {
        if (chainId_ == 0) revert ShanduRejected("INVALID_CHAIN_ID");
        chainId = chainId_;
        _receiveSelector = uint256(bytes32(receiveSelector_));
        genesisEpoch = genesisEpoch_;
        latestEpoch = genesisEpoch_;
    }

    /// @dev Registers the genesis committee's view (trusted from deployment) and the governance senders.
    function _start(bytes32 setHash, address view_, GovernanceSource[] memory governance) internal {
        _epochs[genesisEpoch] = EpochRecord(view_, 0, 0, false);
        for (uint256 i = 0; i < governance.length; i++) {
            GovernanceSource memory g = governance[i];
            if (g.chainId == 0 || g.chainId == chainId || g.sender.length == 0 || g.sender.length > 64) {
                revert ShanduRejected("INVALID_GOVERNANCE_SOURCE");
            }
            governanceSender[g.chainId] = keccak256(g.sender);
        }
        emit CommitteeRegistered(genesisEpoch, setHash, 0, 0);
    }

    // ------------------------------------------------------------------------------------------ rotation

    /// @dev The checks of §7.3 that need no signature, in its order, for the record `fromEpoch → fromEpoch + 1`
    /// whose incoming committee encodes to `toEncoding`. `registered`: this exact record was registered
    /// before (a no-op); a different record for a registered epoch fails `ROTATION_CONFLICT`. Otherwise
    /// returns the outgoing committee's view, the incoming committee's set hash and the rotation signing
    /// root (§7.1) the outgoing committee must have attested.
    function _rotationStart(uint64 fromEpoch, bytes32 fromHash, bytes calldata toEncoding, uint64 activatesAt, uint32 grace)
        internal
        view
        returns (bool registered, bytes memory fromView, bytes32 toHash, bytes32 root)
    {
        toHash = CommitteeCore.setHash(toEncoding);
        if (fromEpoch < latestEpoch && fromEpoch >= genesisEpoch) {
            _requireRegistered(fromEpoch + 1, toHash, activatesAt, grace);
            return (true, fromView, toHash, 0);
        }
        if (fromEpoch != latestEpoch) revert ShanduRejected("ROTATION_EPOCH_GAP");
        EpochRecord memory prev = _epochs[fromEpoch];
        fromView = ViewStore.read(prev.view_);
        if (toEncoding.length >= 8 && uint64(bytes8(toEncoding[0:8])) != fromEpoch + 1) revert ShanduRejected("ROTATION_EPOCH_GAP");
        if (fromHash != CommitteeCore.viewSetHash(fromView)) revert ShanduRejected("ROTATION_PARENT_MISMATCH");
        if (activatesAt < prev.activatesAt) revert ShanduRejected("ROTATION_TIME_NOT_MONOTONIC");
        if (activatesAt > type(uint40).max) revert ShanduRejected("VALUE_OUT_OF_RANGE");
        root = sha256(abi.encodePacked(ROTATE_DOMAIN, fromHash, fromEpoch, toHash, fromEpoch + 1, activatesAt, grace));
    }

    /// @dev For a record of an epoch already registered: the same record again is a no-op, a different one
    /// a conflict (`ROTATION_CONFLICT`).
    function _requireRegistered(uint64 epoch, bytes32 toHash, uint64 activatesAt, uint32 grace) private view {
        EpochRecord memory known = _epochs[epoch];
        bytes32 knownHash = CommitteeCore.viewSetHash(ViewStore.read(known.view_));
        if (knownHash != toHash || known.activatesAt != activatesAt || known.graceSeconds != grace) revert ShanduRejected("ROTATION_CONFLICT");
    }

    /// @dev Registers epoch `fromEpoch + 1` once its record was attested and its committee validated.
    function _rotationFinish(uint64 fromEpoch, bytes32 toHash, address view_, uint64 activatesAt, uint32 grace) internal {
        latestEpoch = fromEpoch + 1;
        _epochs[fromEpoch].superseded = true;
        _epochs[fromEpoch + 1] = EpochRecord(view_, uint40(activatesAt), grace, false);
        emit CommitteeRegistered(fromEpoch + 1, toHash, activatesAt, grace);
    }

    // ------------------------------------------------------------------------------------------ epochs

    /// @notice Whether the committee of `epoch` may sign at `nowSeconds` (§7.4): 0 when it may, else
    /// `EPOCH_NOT_IN_CHAIN`, `EPOCH_NOT_YET_ACTIVE` or `EPOCH_EXPIRED`.
    function epochStatus(uint64 epoch, uint64 nowSeconds) public view returns (bytes32) {
        EpochRecord memory record = _epochs[epoch];
        if (record.view_ == address(0)) return "EPOCH_NOT_IN_CHAIN";
        if (record.activatesAt > nowSeconds) return "EPOCH_NOT_YET_ACTIVE";
        if (record.superseded) {
            EpochRecord memory next = _epochs[epoch + 1];
            if (next.activatesAt <= nowSeconds) {
                EpochRecord memory afterNext = _epochs[epoch + 2];
                bool afterActive = afterNext.view_ != address(0) && afterNext.activatesAt <= nowSeconds;
                if (afterActive || nowSeconds >= uint256(next.activatesAt) + next.graceSeconds) return "EPOCH_EXPIRED";
            }
        }
        return 0;
    }

    function committee(uint64 epoch) external view returns (bytes32 committeeSetHash, uint64 activatesAt, uint32 graceSeconds) {
        EpochRecord memory r = _epochs[epoch];
        if (r.view_ == address(0)) return (0, 0, 0);
        return (CommitteeCore.viewSetHash(ViewStore.read(r.view_)), r.activatesAt, r.graceSeconds);
    }

    // ------------------------------------------------------------------------------------------ delivery

    /// @dev The checks of a delivery that come before its messages: destination, nonce range, at least one
    /// message. The inbox then proves the messages' inclusion (`_proveInclusion`: cheap, and a failure
    /// there needs no signature check), checks the attestation, and runs them (`_executeAll`).
    modifier deliverable(BatchHeader calldata h, bytes[] calldata messages) {
        if (h.destinationChainId != chainId) revert ShanduRejected("WRONG_DESTINATION_CHAIN");
        if (h.firstNonce > h.lastNonce || h.lastNonce - h.firstNonce >= BatchTree.MAX_TREE_SIZE) revert ShanduRejected("NONCE_RANGE_INVALID");
        if (messages.length == 0) revert ShanduRejected("EMPTY_DELIVERY");
        _;
    }

    /// @dev Executes each message not consumed before, marking it consumed first (so a re-entrant or repeated
    /// delivery skips it), and emits `BatchDelivered` with two outcome bits per nonce from the first
    /// message's on.
    function _executeAll(BatchHeader calldata h, bytes[] calldata messages, bytes32[] memory ids) internal {
        uint64 src = h.sourceChainId;
        uint64 fromNonce;
        uint64 lastDelivered;
        assembly ("memory-safe") {
            let first := add(messages.offset, calldataload(messages.offset))
            let last := add(messages.offset, calldataload(add(messages.offset, mul(sub(messages.length, 1), 0x20))))
            fromNonce := shr(192, calldataload(add(add(first, 0x20), 17)))
            lastDelivered := shr(192, calldataload(add(add(last, 0x20), 17)))
        }
        bytes memory outcomes = new bytes((uint256(lastDelivered - fromNonce) >> 2) + 1);
        for (uint256 k = 0; k < messages.length;) {
            bytes calldata m = messages[k];
            uint64 nonce;
            assembly ("memory-safe") {
                nonce := shr(192, calldataload(add(m.offset, 17)))
            }
            if (_consume(src, nonce)) {
                bool ok = _execute(m, ids[k]);
                uint256 i;
                unchecked {
                    // No underflow: the inclusion proof took the messages' nonces in strictly increasing order.
                    i = nonce - fromNonce;
                }
                assembly ("memory-safe") {
                    let pe := add(add(outcomes, 0x20), shr(2, i))
                    mstore8(pe, or(byte(0, mload(pe)), shl(shl(1, and(i, 3)), sub(3, shl(1, ok)))))
                }
            }
            unchecked {
                ++k;
            }
        }
        emit BatchDelivered(src, h.root, fromNonce, outcomes);
    }

    /// @dev Marks (lane, nonce) consumed; false if it already was.
    function _consume(uint64 src, uint64 nonce) private returns (bool) {
        Lane storage lane = _lanes[src];
        uint64 next = lane.next;
        if (nonce < next) return false;
        if (lane.sparse) {
            mapping(uint256 => uint256) storage above = _consumedAbove[src];
            uint256 word = above[nonce >> 8];
            uint256 bit = 1 << (nonce & 255);
            if (word & bit != 0) {
                if (nonce == next) lane.next = next + 1;
                return false;
            }
            if (nonce == next) {
                lane.next = next + 1;
            } else {
                above[nonce >> 8] = word | bit;
            }
            return true;
        }
        if (nonce == next) {
            lane.next = next + 1;
        } else {
            lane.sparse = true;
            _consumedAbove[src][nonce >> 8] |= 1 << (nonce & 255);
        }
        return true;
    }

    /// @dev Decodes every message, checks its lane and nonce, and verifies the multiproof; returns the ids.
    function _proveInclusion(BatchHeader calldata h, bytes[] calldata messages, bytes32[] calldata siblings)
        internal
        view
        returns (bytes32[] memory ids)
    {
        uint256 count = messages.length;
        uint256[] memory indices = new uint256[](count);
        bytes32[] memory work = new bytes32[](count);
        ids = new bytes32[](count);
        for (uint256 k = 0; k < count;) {
            bytes calldata m = messages[k];
            MessageCodec.Fields memory f = m.decode();
            if (f.sourceChainId != h.sourceChainId || f.destinationChainId != h.destinationChainId) revert ShanduRejected("LANE_MISMATCH");
            if (f.nonce < h.firstNonce || f.nonce > h.lastNonce) revert ShanduRejected("NONCE_OUT_OF_RANGE");
            bytes32 id = m.id();
            unchecked {
                indices[k] = f.nonce - h.firstNonce;
                ++k;
            }
            ids[k - 1] = id;
            work[k - 1] = id;
        }
        BatchTree.verify(h.root, uint256(h.lastNonce - h.firstNonce) + 1, indices, work, siblings);
    }

    /// @notice The batch signing root (docs/protocol.md §6.1).
    function batchSigningRoot(bytes32 committeeSetHash, uint64 epoch, BatchHeader calldata h) public pure returns (bytes32) {
        return sha256(
            abi.encodePacked(ATTEST_DOMAIN, committeeSetHash, epoch, h.sourceChainId, h.destinationChainId, h.root, h.firstNonce, h.lastNonce)
        );
    }

    /// @dev `retry` without the re-entrancy lock, which the inbox adds.
    function _retry(bytes calldata message) internal {
        bytes32 id = message.id();
        if (!failed[id]) revert ShanduRejected("NOT_RETRYABLE");
        delete failed[id];
        bool ok = _execute(message, id);
        emit MessageRetried(id, ok);
    }

    function isDelivered(uint64 sourceChainId, uint64 nonce) external view returns (bool) {
        Lane memory lane = _lanes[sourceChainId];
        if (nonce < lane.next) return true;
        return lane.sparse && _consumedAbove[sourceChainId][nonce >> 8] & (1 << (nonce & 255)) != 0;
    }

    function lanePaused(uint64 sourceChainId) external view returns (bool) {
        return _lanes[sourceChainId].paused;
    }

    /// @notice The lowest nonce of the lane from `sourceChainId` not yet consumed in order.
    function nextNonce(uint64 sourceChainId) external view returns (uint64) {
        return _lanes[sourceChainId].next;
    }

    /// @dev Runs one consumed message. A failure is recorded (retryable), not reverted, so that one bad
    /// message cannot block its batch; a failure caused by the submitter's gas limit reverts instead.
    function _execute(bytes calldata m, bytes32 id) private returns (bool ok) {
        MessageCodec.Fields memory f = m.decode();
        if (f.kind == MessageCodec.KIND_GOVERNANCE) {
            ok = _governance(f, m);
        } else {
            if (_lanes[f.sourceChainId].paused) revert ShanduRejected("LANE_PAUSED");
            ok = _callRecipient(f, m);
        }
        if (!ok) failed[id] = true;
    }

    function _callRecipient(MessageCodec.Fields memory f, bytes calldata m) private returns (bool ok) {
        if (f.recipientLength != 20) return false;
        address to;
        assembly ("memory-safe") {
            to := shr(96, calldataload(add(m.offset, mload(add(f, 0xc0)))))
        }
        if (to.code.length == 0) return false;
        // The recipient must get all of RECIPIENT_GAS (EIP-150 passes on at most 63/64 of what is left), so
        // that its failure is its own and never the submitter's choice of gas limit.
        if (gasleft() < RECIPIENT_GAS + RECIPIENT_GAS / 63 + 5_000) revert ShanduRejected("INSUFFICIENT_GAS");
        uint256 selector = _receiveSelector;
        assembly ("memory-safe") {
            // shanduReceive(uint64 sourceChainId, bytes sender, uint64 nonce, bytes payload), ABI-encoded in
            // free memory (not kept): head of four words, then sender and payload, each padded to 32 bytes.
            let p := mload(0x40)
            let sl := mload(add(f, 0xa0))
            let pl := mload(add(f, 0x120))
            let sPad := and(add(sl, 31), not(31))
            let pPad := and(add(pl, 31), not(31))
            mstore(p, selector)
            let h := add(p, 4)
            mstore(h, mload(f))
            mstore(add(h, 0x20), 0x80)
            mstore(add(h, 0x40), mload(add(f, 0x40)))
            mstore(add(h, 0x60), add(0xa0, sPad))
            mstore(add(h, 0x80), sl)
            if sPad { mstore(add(add(h, 0xa0), sub(sPad, 0x20)), 0) }
            calldatacopy(add(h, 0xa0), add(m.offset, mload(add(f, 0x80))), sl)
            let q := add(add(h, 0xa0), sPad)
            mstore(q, pl)
            if pPad { mstore(add(add(q, 0x20), sub(pPad, 0x20)), 0) }
            calldatacopy(add(q, 0x20), add(m.offset, mload(add(f, 0x100))), pl)
            ok := call(RECIPIENT_GAS, to, 0, p, add(add(sub(q, p), 0x20), pPad), 0, 0)
        }
    }

    /// @dev Governance payload: op (u8) ‖ source chain id of the lane (u64). 1 = pause, 2 = resume.
    function _governance(MessageCodec.Fields memory f, bytes calldata m) private returns (bool) {
        bytes32 expected = governanceSender[f.sourceChainId];
        if (expected == 0 || keccak256(m[f.senderOffset:f.senderOffset + f.senderLength]) != expected) return false;
        if (f.payloadLength != 9) return false;
        uint8 op = uint8(m[f.payloadOffset]);
        uint64 lane = uint64(bytes8(m[f.payloadOffset + 1:f.payloadOffset + 9]));
        if (op != GOV_PAUSE && op != GOV_RESUME) return false;
        _lanes[lane].paused = op == GOV_PAUSE;
        emit LanePaused(lane, op == GOV_PAUSE);
        return true;
    }
}
