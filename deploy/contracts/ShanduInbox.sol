// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {
    BatchHeader, CommitteeInput, EvmAttestation, IShanduInbox, IShanduInboxCore, IShanduReceiver, ShanduRejected
} from "./interfaces/IShandu.sol";
import {CommitteeCore} from "./lib/CommitteeCore.sol";
import {Committees} from "./lib/Committees.sol";
import {ViewStore} from "./lib/ViewStore.sol";
import {ShanduCommitteeValidator} from "./ShanduCommitteeValidator.sol";
import {ShanduInboxBase, ShanduRotationNotAttested} from "./ShanduInboxBase.sol";

/// @title Shandu inbox and committee registry
/// @notice The destination side. It trusts exactly one thing given at deployment, the genesis committee
/// (validated here, proofs of possession included, so no zero or empty committee can be made valid), and
/// learns later committees only from rotation records attested by the committee before them. Nobody can
/// replace a committee, pause a lane or upgrade the contract by key: there is no owner. Lanes are paused and
/// resumed only by attested governance messages from the governance sender fixed at deployment for each
/// source chain. Attestations are BLS aggregates checked with the EIP-2537 precompiles (Prague); delivery,
/// execution, replay protection and governance are `ShanduInboxBase`'s.
contract ShanduInbox is ShanduInboxBase, IShanduInbox {
    /// @notice Created by the constructor; decodes and validates incoming committees.
    ShanduCommitteeValidator public immutable validator;

    bool private transient _entered;

    modifier nonReentrant() {
        if (_entered) revert ShanduRejected("REENTRANT_CALL");
        _entered = true;
        _;
        _entered = false;
    }

    constructor(uint64 chainId_, CommitteeInput memory genesis, GovernanceSource[] memory governance)
        ShanduInboxBase(chainId_, CommitteeCore.encodedEpoch(genesis.encoding), IShanduReceiver.shanduReceive.selector)
    {
        validator = new ShanduCommitteeValidator();
        (, bytes32 h, address v) = validator.register(genesis);
        _start(h, v, governance);
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
        (bool registered, bytes memory fromView, bytes32 toHash, bytes32 root) =
            _rotationStart(fromEpoch, fromCommitteeSetHash, to.encoding, activatesAtSeconds, graceSeconds);
        if (registered) return;
        validator.parse(to.encoding);
        bytes32 code = Committees.checkAttestation(fromView, attestation, root);
        if (code != 0) revert ShanduRotationNotAttested(code);
        (,, address v) = validator.register(to);
        _rotationFinish(fromEpoch, toHash, v, activatesAtSeconds, graceSeconds);
    }

    // ------------------------------------------------------------------------------------------ delivery

    /// @inheritdoc IShanduInbox
    function deliver(BatchHeader calldata h, EvmAttestation calldata a, bytes[] calldata messages, bytes32[] calldata siblings)
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

    /// @dev The committee of the attestation's epoch, as of this block's time, and the attestation itself.
    function _checkAttestation(BatchHeader calldata h, EvmAttestation calldata a) private view {
        bytes32 status = epochStatus(a.epoch, uint64(block.timestamp));
        if (status != 0) revert ShanduRejected(status);
        bytes memory v = ViewStore.read(_epochs[a.epoch].view_);
        bytes32 code = Committees.checkAttestation(v, a, batchSigningRoot(CommitteeCore.viewSetHash(v), a.epoch, h));
        if (code != 0) revert ShanduRejected(code);
    }
}
