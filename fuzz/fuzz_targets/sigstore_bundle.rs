//! Mutations of the good bundles of the Sigstore conformance suite (testdata/sigstore-conformance) chosen by
//! the input, verified as `palisade verify FILE` verifies: a mutated bundle that verifies must have changed
//! only what `test_support::bundle_mutation::ALLOWED` lists (unsigned hints, copies the verifier does not
//! read, redundant evidence), never what was signed.
//!
//! Input: one byte choosing the case, then up to 4 mutations of 7 bytes each: the field (2 bytes, among
//! `bundle_mutation::fields` of the bundle as mutated so far), the edit (drop, flip or add), a position (3
//! bytes) and a value (the XOR mask, or the amount to add).

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use signing::config::Subject;
use signing::identity::Identity;
use signing::sigstore_verifier::{Signed, Signer};
use signing::trust::TrustRoot;
use test_support::bundle_mutation::{Edit, FieldKind, Mutation, Step, allowance, fields};
use test_support::{CaseSigner, ConformanceCase, conformance_cases};

/// A good case, read once.
struct Target {
    case: ConformanceCase,
    bundle: Value,
    trust_root: TrustRoot,
}

static TARGETS: LazyLock<Vec<Target>> = LazyLock::new(|| {
    conformance_cases()
        .into_iter()
        .filter(|case| !case.must_fail())
        .map(|case| Target {
            bundle: serde_json::from_slice(&case.bundle).expect("a good case's bundle is JSON"),
            trust_root: match &case.trusted_root {
                Some(root) => TrustRoot::from_trusted_root_json(root),
                None => TrustRoot::production(),
            }
            .expect("a good case's trust root loads"),
            case,
        })
        .collect()
});

fn verify(target: &Target, bundle: &[u8]) -> bool {
    let identity;
    let signer = match &target.case.signer {
        CaseSigner::Key(pem) => Signer::KeyPem(pem),
        CaseSigner::Identity {
            identity: san,
            issuer,
        } => {
            identity = Identity::Issuer {
                issuer: issuer.clone(),
                subject: Subject::Equal(san.clone()),
            };
            Signer::Identity(&identity)
        }
    };
    target
        .trust_root
        .verifier()
        .verify(Signed::Bytes(&target.case.artifact), bundle, signer)
        .is_ok()
}

/// The mutation one 7-byte chunk of input asks for.
fn mutation_of(bundle: &Value, chunk: &[u8]) -> Option<Mutation> {
    let [field_hi, field_lo, op, p0, p1, p2, value] = *chunk else {
        return None;
    };
    let fields = fields(bundle);
    let choice = usize::from(u16::from_be_bytes([field_hi, field_lo]));
    let field = fields.get(choice.checked_rem(fields.len())?)?;
    let at = usize::from(p0) << 16 | usize::from(p1) << 8 | usize::from(p2);
    let edit = match (op % 3, field.kind) {
        (0, _) if field.droppable => Edit::Drop,
        (_, Some(FieldKind::Number)) => Edit::Add(i64::from(value as i8)),
        (_, Some(FieldKind::Bytes | FieldKind::Text)) => Edit::Flip { at, mask: value },
        _ => return None,
    };
    Some(Mutation {
        path: field.path.clone(),
        edit,
    })
}

/// The part of the bundle a mutation touches: what it edits, or for a removal the array, object or note
/// it is removed from (whose other members it re-indexes, or whose signature over them it may remove).
fn touched(mutation: &Mutation) -> &[Step] {
    match mutation.edit {
        Edit::Drop => &mutation.path[..mutation.path.len().saturating_sub(1)],
        _ => &mutation.path,
    }
}

fn overlaps(a: &[Step], b: &[Step]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, chunks)) = data.split_first() else {
        return;
    };
    let target = &TARGETS[usize::from(which) % TARGETS.len()];
    let keyed = matches!(target.case.signer, CaseSigner::Key(_));
    let mut bundle = target.bundle.clone();
    // Each mutation with whether it leaves what was signed unchanged. Mutations that overlap an earlier
    // one are skipped, so that none can undo another.
    let mut applied: Vec<(Mutation, bool)> = Vec::new();
    for chunk in chunks.chunks_exact(7).take(4) {
        let Some(mutation) = mutation_of(&bundle, chunk) else {
            continue;
        };
        if applied
            .iter()
            .any(|(earlier, _)| overlaps(touched(earlier), touched(&mutation)))
        {
            continue;
        }
        let Some(mutated) = mutation.apply(&bundle) else {
            continue;
        };
        let allowed = allowance(&bundle, &mutation, keyed).is_some();
        applied.push((mutation, allowed));
        bundle = mutated;
    }
    if applied.is_empty() {
        return;
    }
    let json = serde_json::to_vec(&bundle).expect("JSON values serialize");
    if verify(target, &json) {
        let signed: Vec<String> = applied
            .iter()
            .filter(|(_, allowed)| !allowed)
            .map(|(mutation, _)| mutation.to_string())
            .collect();
        assert!(
            signed.is_empty(),
            "{}: verified after changes to what was signed: {signed:?} (all mutations: {:?})",
            target.case.name,
            applied
                .iter()
                .map(|(mutation, _)| mutation.to_string())
                .collect::<Vec<_>>()
        );
    }
});
