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
    uint8 internal constant GOV_PAUSE = 1;
    uint8 internal constant GOV_RESUME = 2;

    struct GovernanceSource {
        uint64 chainId;
        bytes sender;
    }

    /// @dev One slot per epoch: where its view is stored, when it activates, and the grace of the rotation to it.
    struct EpochRecord {
        address view_;
        uint64 activatesAt;
        uint32 graceSeconds;
    }

    uint64 public immutable chainId;
    uint64 public immutable genesisEpoch;
    /// @notice Created by the constructor; decodes and validates incoming committees.
    ShanduCommitteeValidator public immutable validator;
    uint64 public latestEpoch;

    mapping(uint64 epoch => EpochRecord) internal _epochs;
    /// @dev Consumed nonces: bit (nonce & 255) of word (nonce >> 8), per source chain.
    mapping(uint64 sourceChainId => mapping(uint256 word => uint256)) internal _consumed;
    mapping(uint64 sourceChainId => bool) public lanePaused;
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
        _epochs[epoch] = EpochRecord(v, 0, 0);
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
        validator.parse(to.encoding);
        bytes32 root = sha256(abi.encodePacked(ROTATE_DOMAIN, fromSetHash, fromEpoch, toHash, fromEpoch + 1, activatesAt, grace));
        bytes32 code = Committees.checkAttestation(fromView, attestation, root);
        if (code != 0) revert ShanduRotationNotAttested(code);
        (,, address v) = validator.register(to);
        latestEpoch = fromEpoch + 1;
        _epochs[fromEpoch + 1] = EpochRecord(v, activatesAt, grace);
        emit CommitteeRegistered(fromEpoch + 1, toHash, activatesAt, grace);
    }

    // ------------------------------------------------------------------------------------------ epochs

    /// @notice Whether the committee of `epoch` may sign at `nowSeconds` (§7.4): 0 when it may, else
    /// `EPOCH_NOT_IN_CHAIN`, `EPOCH_NOT_YET_ACTIVE` or `EPOCH_EXPIRED`.
    function epochStatus(uint64 epoch, uint64 nowSeconds) public view returns (bytes32) {
        if (epoch < genesisEpoch || epoch > latestEpoch) return "EPOCH_NOT_IN_CHAIN";
        if (_epochs[epoch].activatesAt > nowSeconds) return "EPOCH_NOT_YET_ACTIVE";
        if (epoch < latestEpoch) {
            EpochRecord memory next = _epochs[epoch + 1];
            if (next.activatesAt <= nowSeconds) {
                bool afterActive = epoch + 1 < latestEpoch && _epochs[epoch + 2].activatesAt <= nowSeconds;
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
        // Execute each message not consumed before, marking it consumed first (so a re-entrant or repeated
        // delivery skips it).
        uint64 src = h.sourceChainId;
        for (uint256 k = 0; k < messages.length; k++) {
            bytes calldata m = messages[k];
            uint64 nonce = uint64(bytes8(m[17:25]));
            uint256 word = nonce >> 8;
            uint256 bit = 1 << (nonce & 255);
            uint256 bits = _consumed[src][word];
            if (bits & bit != 0) continue;
            _consumed[src][word] = bits | bit;
            bool ok = _execute(m, ids[k]);
            emit MessageDelivered(src, nonce, ids[k], ok);
        }
        emit BatchDelivered(src, h.firstNonce, h.lastNonce, h.root, a.epoch);
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
        for (uint256 k = 0; k < count; k++) {
            MessageCodec.Fields memory f = messages[k].decode();
            if (f.sourceChainId != h.sourceChainId || f.destinationChainId != h.destinationChainId) revert ShanduRejected("LANE_MISMATCH");
            if (f.nonce < h.firstNonce || f.nonce > h.lastNonce) revert ShanduRejected("NONCE_OUT_OF_RANGE");
            indices[k] = f.nonce - h.firstNonce;
            ids[k] = messages[k].id();
            work[k] = ids[k];
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
        return _consumed[sourceChainId][nonce >> 8] & (1 << (nonce & 255)) != 0;
    }

    /// @dev Runs one consumed message. A failure is recorded (retryable), not reverted, so that one bad
    /// message cannot block its batch; a failure caused by the submitter's gas limit reverts instead.
    function _execute(bytes calldata m, bytes32 id) private returns (bool ok) {
        MessageCodec.Fields memory f = m.decode();
        if (f.kind == MessageCodec.KIND_GOVERNANCE) {
            ok = _governance(f, m);
        } else {
            if (lanePaused[f.sourceChainId]) revert ShanduRejected("LANE_PAUSED");
            ok = _callRecipient(f, m);
        }
        if (!ok) failed[id] = true;
    }

    function _callRecipient(MessageCodec.Fields memory f, bytes calldata m) private returns (bool ok) {
        if (f.recipientLength != 20) return false;
        address to = address(bytes20(m[f.recipientOffset:f.recipientOffset + 20]));
        if (to.code.length == 0) return false;
        bytes memory data = abi.encodeCall(
            IShanduReceiver.shanduReceive,
            (f.sourceChainId, m[f.senderOffset:f.senderOffset + f.senderLength], f.nonce, m[f.payloadOffset:f.payloadOffset + f.payloadLength])
        );
        uint256 before = gasleft();
        assembly ("memory-safe") {
            ok := call(gas(), to, 0, add(data, 0x20), mload(data), 0, 0)
        }
        // The recipient got 63/64 of the gas; if it failed with (almost) nothing left, the submitter's gas
        // limit, not the message, caused it.
        if (!ok && gasleft() <= before / 64) revert ShanduRejected("INSUFFICIENT_GAS");
    }

    /// @dev Governance payload: op (u8) ‖ source chain id of the lane (u64). 1 = pause, 2 = resume.
    function _governance(MessageCodec.Fields memory f, bytes calldata m) private returns (bool) {
        bytes32 expected = governanceSender[f.sourceChainId];
        if (expected == 0 || keccak256(m[f.senderOffset:f.senderOffset + f.senderLength]) != expected) return false;
        if (f.payloadLength != 9) return false;
        uint8 op = uint8(m[f.payloadOffset]);
        uint64 lane = uint64(bytes8(m[f.payloadOffset + 1:f.payloadOffset + 9]));
        if (op != GOV_PAUSE && op != GOV_RESUME) return false;
        lanePaused[lane] = op == GOV_PAUSE;
        emit LanePaused(lane, op == GOV_PAUSE);
        return true;
    }
}
