// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {CommitteeInput, EvmAttestation, ShanduRejected} from "../interfaces/IShandu.sol";
import {CommitteeCore} from "../lib/CommitteeCore.sol";
import {Committees} from "../lib/Committees.sol";
import {ViewStore} from "../lib/ViewStore.sol";
import {GoodDeedCredits} from "./GoodDeedCredits.sol";
import {AllianceRoles, IShanduAlliance} from "./IShanduAlliance.sol";

/// @title Measured good deeds of one alliance chain (docs/deeds.md)
/// @notice The inbound oracle of the credit system. A distributor (an account holding `DISTRIBUTOR` on this
/// chain) submits a deed measured off chain — a low-carbon trip, a volunteering hour — with a BLS
/// attestation by the measuring institutions' committee over the deed's signing root. The committee is the
/// one governance approved in the alliance registry (`measurerCommittee()`, its set hash): anyone may
/// register it here with its keys and proofs of possession, which are decoded and validated exactly as the
/// inbox validates a committee, and kept only when the set hash is the approved one. So neither the
/// distributor nor whoever registers the keys is trusted: the set hash is governance's, the keys are
/// checked against it and the proofs of possession verified.
///
/// Issuers then turn recorded deeds into credits by their rules, one per (category, unit): credits =
/// floor(quantity × numerator / denominator) of the rule's credit class, funded by the class's sponsor.
/// Anyone may trigger the issuance of a recorded deed, once. Owner-less. Refusals revert with
/// `ShanduRejected(code)` (codes in docs/deeds.md).
contract GoodDeedRegistry {
    /// @notice A measured deed. `user` is the pseudonymous on-chain identity; `category`, `unit` and
    /// `measuredBy` are left-aligned ASCII (e.g. "LOW_CARBON_TRIP", "KM", "SH_METRO"); `measuredAt` is Unix
    /// seconds; `consentRef` names the user's consent record; `envelopeCommitment` is the commitment to the
    /// regulator envelope holding the personal data (docs/protocol.md §8.5).
    struct Deed {
        bytes32 deedId;
        address user;
        bytes32 category;
        uint256 quantity;
        bytes32 unit;
        bytes32 measuredBy;
        uint64 measuredAt;
        bytes32 consentRef;
        bytes32 envelopeCommitment;
    }

    /// @notice An issuer's rule: `creditsNumerator / unitsDenominator` credits of `creditClass` per unit.
    struct Rule {
        bytes32 creditClass;
        uint128 creditsNumerator;
        uint128 unitsDenominator;
        address issuer;
    }

    enum DeedState {
        NONE,
        RECORDED,
        CREDITED
    }

    /// @notice What issuance needs of a recorded deed (the rest is in `DeedRecorded`).
    struct DeedRecord {
        DeedState state;
        address user;
        bytes32 category;
        bytes32 unit;
        uint256 quantity;
    }

    /// @notice Domain tag of the deed signing root (14 ASCII bytes).
    bytes14 public constant DEED_TAG = "SHANDU-DEED-v1";

    IShanduAlliance public immutable alliance;
    GoodDeedCredits public immutable credits;
    /// @notice This chain's Shandu chain id, read from the alliance registry at deployment.
    uint64 public immutable chainId;

    /// @notice The stored view of each measurer committee registered here, by set hash.
    mapping(bytes32 committeeSetHash => address) public measurerView;
    mapping(bytes32 deedId => DeedRecord) private _deeds;
    mapping(bytes32 category => mapping(bytes32 unit => Rule)) private _rules;

    event MeasurersRegistered(bytes32 indexed committeeSetHash, uint64 epoch, address committeeView);
    event DeedRecorded(
        bytes32 indexed deedId,
        address indexed user,
        bytes32 indexed category,
        uint256 quantity,
        bytes32 unit,
        bytes32 measuredBy,
        uint64 measuredAt,
        bytes32 consentRef,
        bytes32 envelopeCommitment,
        address distributor
    );
    event RuleSet(
        bytes32 indexed category, bytes32 indexed unit, bytes32 indexed creditClass, uint128 creditsNumerator, uint128 unitsDenominator, address issuer
    );
    event DeedCredited(bytes32 indexed deedId, bytes32 indexed creditClass, uint256 amount, address sponsor, address issuer);

    /// @param alliance_ The alliance registry of this chain (deployed before this contract).
    /// @param credits_ The credits contract, whose only issuer this registry is (deployed right after it,
    /// so its address is computed in advance).
    constructor(address alliance_, address credits_) {
        if (alliance_.code.length == 0) revert ShanduRejected("INVALID_ALLIANCE");
        if (credits_ == address(0)) revert ShanduRejected("INVALID_CREDITS");
        alliance = IShanduAlliance(alliance_);
        credits = GoodDeedCredits(credits_);
        chainId = IShanduAlliance(alliance_).chainId();
    }

    // ---------------------------------------------------------------- measurers

    /// @notice Registers the measurer committee governance approved: strict decoding (§4.2), then
    /// `MEASURERS_NOT_APPROVED` unless its set hash is `alliance.measurerCommittee()`, then the validity
    /// rules of §4.5 with every proof of possession verified (the validator's codes). Registering a
    /// committee already registered changes nothing. Anyone may call.
    function registerMeasurers(CommitteeInput calldata c) external returns (bytes32 setHash, address committeeView) {
        CommitteeCore.Parsed memory p = CommitteeCore.parse(c.encoding);
        setHash = CommitteeCore.setHash(c.encoding);
        bytes32 approved = alliance.measurerCommittee();
        if (approved == 0 || setHash != approved) revert ShanduRejected("MEASURERS_NOT_APPROVED");
        committeeView = measurerView[setHash];
        if (committeeView != address(0)) return (setHash, committeeView);
        Committees.validate(p, c.encoding, c.keys, c.pops);
        committeeView = ViewStore.write(Committees.buildView(p, setHash, c.keys));
        measurerView[setHash] = committeeView;
        emit MeasurersRegistered(setHash, p.epoch, committeeView);
    }

    // ---------------------------------------------------------------- deeds

    /// @notice Records deed `d`, attested by the approved measurer committee. Only a distributor of this
    /// chain. Checks, in order: `NOT_DISTRIBUTOR`, `MEASURERS_NOT_REGISTERED` (the approved committee has not
    /// been registered here, or none is approved), `DUPLICATE_DEED`, `INVALID_DEED` (zero quantity or user),
    /// then the attestation over `deedSigningRoot` as the inbox checks a batch's (`EPOCH_MISMATCH`,
    /// `COMMITTEE_HASH_MISMATCH`, bitfield codes, `EMPTY_SIGNER_SET`, `QUORUM_WEIGHT_NOT_MET`,
    /// `QUORUM_GROUP_NOT_MET`, `BAD_SIGNATURE`, ...).
    function recordDeed(Deed calldata d, EvmAttestation calldata a) external {
        if (!alliance.hasRole(AllianceRoles.DISTRIBUTOR, chainId, msg.sender)) revert ShanduRejected("NOT_DISTRIBUTOR");
        address stored = measurerView[alliance.measurerCommittee()];
        if (stored == address(0)) revert ShanduRejected("MEASURERS_NOT_REGISTERED");
        if (_deeds[d.deedId].state != DeedState.NONE) revert ShanduRejected("DUPLICATE_DEED");
        if (d.quantity == 0 || d.user == address(0)) revert ShanduRejected("INVALID_DEED");
        bytes memory v = ViewStore.read(stored);
        bytes32 root = deedSigningRoot(CommitteeCore.viewSetHash(v), CommitteeCore.viewEpoch(v), deedHash(d));
        bytes32 code = Committees.checkAttestation(v, a, root);
        if (code != 0) revert ShanduRejected(code);
        _deeds[d.deedId] = DeedRecord(DeedState.RECORDED, d.user, d.category, d.unit, d.quantity);
        _emitRecorded(d);
    }

    function _emitRecorded(Deed calldata d) private {
        emit DeedRecorded(
            d.deedId, d.user, d.category, d.quantity, d.unit, d.measuredBy, d.measuredAt, d.consentRef, d.envelopeCommitment, msg.sender
        );
    }

    /// @notice SHA-256(deedId ‖ user (20) ‖ category ‖ quantity (32) ‖ unit ‖ measuredBy ‖ measuredAt (u64) ‖
    /// consentRef ‖ envelopeCommitment): 252 bytes, big-endian.
    function deedHash(Deed calldata d) public pure returns (bytes32) {
        bytes memory a = abi.encodePacked(d.deedId, d.user, d.category, d.quantity, d.unit);
        return sha256(bytes.concat(a, abi.encodePacked(d.measuredBy, d.measuredAt, d.consentRef, d.envelopeCommitment)));
    }

    /// @notice What the measurers sign: SHA-256("SHANDU-DEED-v1" ‖ committeeSetHash ‖ epoch (u64) ‖ chainId
    /// (u64) ‖ this registry (20) ‖ deedHash), so a signature serves one deed, one committee and one
    /// registry of one chain.
    function deedSigningRoot(bytes32 committeeSetHash, uint64 epoch, bytes32 hash) public view returns (bytes32) {
        return sha256(abi.encodePacked(DEED_TAG, committeeSetHash, epoch, chainId, address(this), hash));
    }

    // ---------------------------------------------------------------- rules and issuance

    /// @notice Sets (or replaces) the rule for deeds of (`category`, `unit`). Only an issuer of this chain
    /// (`NOT_ISSUER`); a zero class, numerator or denominator is `INVALID_RULE`. The caller is recorded as
    /// the rule's issuer: issuance under the rule needs it to still hold `ISSUER`.
    function setRule(bytes32 category, bytes32 unit, bytes32 creditClass, uint128 creditsNumerator, uint128 unitsDenominator) external {
        if (!alliance.hasRole(AllianceRoles.ISSUER, chainId, msg.sender)) revert ShanduRejected("NOT_ISSUER");
        if (creditClass == 0 || creditsNumerator == 0 || unitsDenominator == 0) revert ShanduRejected("INVALID_RULE");
        _rules[category][unit] = Rule(creditClass, creditsNumerator, unitsDenominator, msg.sender);
        emit RuleSet(category, unit, creditClass, creditsNumerator, unitsDenominator, msg.sender);
    }

    /// @notice Issues the credits of recorded deed `deedId` by the rule for its (category, unit), to its user,
    /// funded by the credit class's sponsor. Anyone may call; once per deed. Refusals: `UNKNOWN_DEED`,
    /// `DEED_ALREADY_CREDITED`, `NO_RULE`, `NOTHING_TO_ISSUE` (the rule floors the quantity to 0),
    /// `AMOUNT_OVERFLOW`, and the credits contract's `NOT_ISSUER` (the rule's issuer lost its role) and
    /// `SPONSOR_MISMATCH` (the class has no sponsor).
    function issueCredits(bytes32 deedId) external returns (uint256 amount) {
        DeedRecord storage r = _deeds[deedId];
        if (r.state == DeedState.NONE) revert ShanduRejected("UNKNOWN_DEED");
        if (r.state == DeedState.CREDITED) revert ShanduRejected("DEED_ALREADY_CREDITED");
        Rule memory applied = _rules[r.category][r.unit];
        if (applied.issuer == address(0)) revert ShanduRejected("NO_RULE");
        uint256 q = r.quantity;
        if (q > type(uint256).max / applied.creditsNumerator) revert ShanduRejected("AMOUNT_OVERFLOW");
        amount = (q * applied.creditsNumerator) / applied.unitsDenominator;
        if (amount == 0) revert ShanduRejected("NOTHING_TO_ISSUE");
        r.state = DeedState.CREDITED;
        address sponsor = alliance.classSponsor(applied.creditClass);
        credits.issue(r.user, applied.creditClass, amount, sponsor, deedId, applied.issuer);
        emit DeedCredited(deedId, applied.creditClass, amount, sponsor, applied.issuer);
    }

    // ---------------------------------------------------------------- views

    function deed(bytes32 deedId) external view returns (DeedRecord memory) {
        return _deeds[deedId];
    }

    function rule(bytes32 category, bytes32 unit) external view returns (Rule memory) {
        return _rules[category][unit];
    }
}
