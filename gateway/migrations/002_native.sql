-- Native co-signatures (docs/protocol.md §6.5) for destinations without a BLS verifier (FISCO BCOS).
-- A partial for such a lane carries its member's native signature; the attestation carries the
-- native attestation built from the same partials as the BLS aggregate (encodeNativeAttestation).

ALTER TABLE partials ADD COLUMN native_signature bytea;
ALTER TABLE attestations ADD COLUMN native_attestation bytea;
