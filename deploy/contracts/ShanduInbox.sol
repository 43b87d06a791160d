// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {
    BatchHeader, CommitteeInput, EvmAttestation, IShanduInbox, IShanduReceiver, ShanduRejected
} from "./interfaces/IShandu.sol";
import {BatchTree} from "./lib/BatchTree.sol";
import {Committees} from "./lib/Committees.sol";
import {MessageCodec} from "./lib/MessageCodec.sol";
import {ViewStore} from "./lib/ViewStore.sol";
import {ShanduCommitteeValidator} from "./ShanduCommitteeValidator.sol";

/// @notice Carries the refusal of a rotation whose attestation failed, with the §6.4 code as the reason.
error ShanduRotationNotAttested(bytes32 reason);

/// @title Shandu inbox and committee registry
/// @notice The destination side. It trusts exactly one thing given at deployment, the genesis committee
/// (validated here, proofs of possession included, so no zero or empty committee can be made valid), and
/// learns later committees only from rotation records attested by the committee before them. Nobody can
/// replace a committee, pause a lane or upgrade the contract by key: there is no owner. Lanes are paused and
/// resumed only by attested governance messages from the governance sender fixed at deployment for each
/// source chain.
contract ShanduInbox is IShanduInbox {
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
    /// @notice Created by the constructor; decodes and validates incoming committees.
    ShanduCommitteeValidator public immutable validator;
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
    /// @dev keccak256 of the only sender whose governance messages from a source chain are obeyed.
    mapping(uint64 sourceChainId => bytes32) public governanceSender;
    /// @dev Consumed messages whose execution failed, by message id; `retry` may run them once more.
    mapping(bytes32 messageId => bool) public failed;

    bool private transient _entered;

    modifier nonReentrant() {
        if (_entered) revert ShanduRejected("REENTRANT_CALL");
        _entered = true;
        _;
        _entered = false;
    }

    constructor(uint64 chainId_, CommitteeInput memory genesis, GovernanceSource[] memory governance) {
        if (chainId_ == 0) revert ShanduRejected("INVALID_CHAIN_ID");
        chainId = chainId_;
        validator = new ShanduCommitteeValidator();
        (uint64 epoch, bytes32 h, address v) = validator.register(genesis);
        genesisEpoch = epoch;
        latestEpoch = epoch;
        _epochs[epoch] = EpochRecord(v, 0, 0, false);
        for (uint256 i = 0; i < governance.length; i++) {
            GovernanceSource memory g = governance[i];
            if (g.chainId == 0 || g.chainId == chainId_ || g.sender.length == 0 || g.sender.length > 64) {
                revert ShanduRejected("INVALID_GOVERNANCE_SOURCE");
            }
            governanceSender[g.chainId] = keccak256(g.sender);
        }
        emit CommitteeRegistered(epoch, h, 0, 0);
    }

    // ------------------------------------------------------------------------------------------ rotation

    /// @inheritdoc IShanduInbox
    function rotate(
        uint64 fromEpoch,
        bytes32 fromCommitteeSetHash,
        CommitteeInput calldata to,
        uint64 activatesAtSeconds,
        uint32 graceSeconds,
        EvmAttestation calldata attestation
    ) external nonReentrant {
        _rotate(fromEpoch, fromCommitteeSetHash, to, activatesAtSeconds, graceSeconds, attestation);
    }

    function _rotate(
        uint64 fromEpoch,
        bytes32 fromHash,
        CommitteeInput calldata to,
        uint64 activatesAt,
        uint32 grace,
        EvmAttestation calldata attestation
    ) private {
        bytes32 toHash = Committees.setHash(to.encoding);
        if (fromEpoch < latestEpoch && fromEpoch >= genesisEpoch) {
            // Already registered: the same record again is a no-op, a different one a conflict.
            EpochRecord memory known = _epochs[fromEpoch + 1];
            bytes32 knownHash = Committees.viewSetHash(ViewStore.read(known.view_));
            if (knownHash == toHash && known.activatesAt == activatesAt && known.graceSeconds == grace) return;
            revert ShanduRejected("ROTATION_CONFLICT");
        }
        if (fromEpoch != latestEpoch) revert ShanduRejected("ROTATION_EPOCH_GAP");
        EpochRecord memory prev = _epochs[fromEpoch];
        bytes memory fromView = ViewStore.read(prev.view_);
        bytes32 fromSetHash = Committees.viewSetHash(fromView);
        if (to.encoding.length >= 8 && uint64(bytes8(to.encoding[0:8])) != fromEpoch + 1) revert ShanduRejected("ROTATION_EPOCH_GAP");
        if (fromHash != fromSetHash) revert ShanduRejected("ROTATION_PARENT_MISMATCH");
        if (activatesAt < prev.activatesAt) revert ShanduRejected("ROTATION_TIME_NOT_MONOTONIC");
        if (activatesAt > type(uint40).max) revert ShanduRejected("VALUE_OUT_OF_RANGE");
        validator.parse(to.encoding);
        bytes32 root = sha256(abi.encodePacked(ROTATE_DOMAIN, fromSetHash, fromEpoch, toHash, fromEpoch + 1, activatesAt, grace));
        bytes32 code = Committees.checkAttestation(fromView, attestation, root);
        if (code != 0) revert ShanduRotationNotAttested(code);
        (,, address v) = validator.register(to);
        latestEpoch = fromEpoch + 1;
        _epochs[fromEpoch].superseded = true;
        _epochs[fromEpoch + 1] = EpochRecord(v, uint40(activatesAt), grace, false);
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
        return (Committees.viewSetHash(ViewStore.read(r.view_)), r.activatesAt, r.graceSeconds);
    }

    // ------------------------------------------------------------------------------------------ delivery

    /// @inheritdoc IShanduInbox
    function deliver(BatchHeader calldata h, EvmAttestation calldata a, bytes[] calldata messages, bytes32[] calldata siblings)
        external
        nonReentrant
    {
        if (h.destinationChainId != chainId) revert ShanduRejected("WRONG_DESTINATION_CHAIN");
        if (h.firstNonce > h.lastNonce || h.lastNonce - h.firstNonce >= BatchTree.MAX_TREE_SIZE) revert ShanduRejected("NONCE_RANGE_INVALID");
        if (messages.length == 0) revert ShanduRejected("EMPTY_DELIVERY");
        // Messages and inclusion first: cheap, and a failure there needs no pairing.
        bytes32[] memory ids = _proveInclusion(h, messages, siblings);
        _checkAttestation(h, a);
        (uint64 fromNonce, bytes memory outcomes) = _executeAll(h.sourceChainId, messages, ids);
        emit BatchDelivered(h.sourceChainId, h.root, fromNonce, outcomes);
    }

    /// @dev Executes each message not consumed before, marking it consumed first (so a re-entrant or repeated
    /// delivery skips it). Outcomes: two bits per nonce from the first message's on (see `BatchDelivered`).
    function _executeAll(uint64 src, bytes[] calldata messages, bytes32[] memory ids)
        private
        returns (uint64 fromNonce, bytes memory outcomes)
    {
        uint64 lastDelivered;
        assembly ("memory-safe") {
            let first := add(messages.offset, calldataload(messages.offset))
            let last := add(messages.offset, calldataload(add(messages.offset, mul(sub(messages.length, 1), 0x20))))
            fromNonce := shr(192, calldataload(add(add(first, 0x20), 17)))
            lastDelivered := shr(192, calldataload(add(add(last, 0x20), 17)))
        }
        outcomes = new bytes((uint256(lastDelivered - fromNonce) >> 2) + 1);
        for (uint256 k = 0; k < messages.length;) {
            bytes calldata m = messages[k];
            uint64 nonce;
            assembly ("memory-safe") {
                nonce := shr(192, calldataload(add(m.offset, 17)))
            }
            if (_consume(src, nonce)) {
                bool ok = _execute(m, ids[k]);
                uint256 i = nonce - fromNonce;
                assembly ("memory-safe") {
                    let pe := add(add(outcomes, 0x20), shr(2, i))
                    mstore8(pe, or(byte(0, mload(pe)), shl(shl(1, and(i, 3)), sub(3, shl(1, ok)))))
                }
            }
            unchecked {
                ++k;
            }
        }
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
        private
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

    /// @dev The committee of the attestation's epoch, as of this block's time, and the attestation itself.
    function _checkAttestation(BatchHeader calldata h, EvmAttestation calldata a) private view {
        bytes32 status = epochStatus(a.epoch, uint64(block.timestamp));
        if (status != 0) revert ShanduRejected(status);
        bytes memory v = ViewStore.read(_epochs[a.epoch].view_);
        bytes32 code = Committees.checkAttestation(v, a, batchSigningRoot(Committees.viewSetHash(v), a.epoch, h));
        if (code != 0) revert ShanduRejected(code);
    }

    /// @notice The batch signing root (docs/protocol.md §6.1).
    function batchSigningRoot(bytes32 committeeSetHash, uint64 epoch, BatchHeader calldata h) public pure returns (bytes32) {
        return sha256(
            abi.encodePacked(ATTEST_DOMAIN, committeeSetHash, epoch, h.sourceChainId, h.destinationChainId, h.root, h.firstNonce, h.lastNonce)
        );
    }

    /// @inheritdoc IShanduInbox
    function retry(bytes calldata message) external nonReentrant {
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
        assembly ("memory-safe") {
            // shanduReceive(uint64 sourceChainId, bytes sender, uint64 nonce, bytes payload), ABI-encoded in
            // free memory (not kept): head of four words, then sender and payload, each padded to 32 bytes.
            let p := mload(0x40)
            let sl := mload(add(f, 0xa0))
            let pl := mload(add(f, 0x120))
            let sPad := and(add(sl, 31), not(31))
            let pPad := and(add(pl, 31), not(31))
            mstore(p, shl(224, 0x1fb3abbe)) // IShanduReceiver.shanduReceive.selector
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
