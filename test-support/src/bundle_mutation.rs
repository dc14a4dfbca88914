//! Deterministic mutations of a Sigstore bundle's JSON, for checking that a verifier refuses every change to
//! what was signed: one bit of every base64 field (signatures, certificates, log entry bodies, signed entry
//! timestamps, inclusion-proof hashes, RFC 3161 timestamps, DSSE payloads, message digests), one character of
//! every text field, ±1 on every number (log indexes, integrated times, tree sizes), every line and signature
//! of a checkpoint note, and the removal of every array element and object member.
//!
//! A mutation is a path into the JSON (down to a checkpoint line) and an [`Edit`]; [`mutations`] lists the
//! deterministic set, [`fields`] the places a fuzzer may edit in its own ways.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// Members whose string value is base64 (protobuf `bytes`) in a Sigstore bundle.
const BASE64_MEMBERS: &[&str] = &[
    "rawBytes",
    "signature",
    "sig",
    "digest",
    "signedEntryTimestamp",
    "rootHash",
    "hashes",
    "keyId",
    "canonicalizedBody",
    "signedTimestamp",
    "payload",
];

/// One step of a path into a bundle's JSON, down to a part of a checkpoint note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
    /// A line of a checkpoint note (`checkpoint.envelope`), counting from 0 with the blank line.
    Line(usize),
    /// The key name of a checkpoint signature line (`— NAME BASE64`).
    SignerName,
    /// The key hint and signature of a checkpoint signature line, decoded from base64.
    SignatureBytes,
}

/// What a field holds, which decides how it can be edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Base64 text: edited in its decoded bytes.
    Bytes,
    /// Text: edited one character at a time.
    Text,
    /// A JSON number, or a decimal string (protobuf JSON writes 64-bit integers so).
    Number,
}

/// A place in a bundle that a mutation can change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Where it is.
    pub path: Vec<Step>,
    /// What it holds; `None` for an array or object, which can only be dropped.
    pub kind: Option<FieldKind>,
    /// Whether it can be removed (an array element, an object member, a checkpoint line).
    pub droppable: bool,
}

/// A change to one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// XOR one decoded byte ([`FieldKind::Bytes`]) or one character's code point ([`FieldKind::Text`]) with
    /// `mask`; `at` wraps around the length.
    Flip {
        /// The byte or character position.
        at: usize,
        /// What to XOR with (0 changes nothing).
        mask: u8,
    },
    /// Add to a number.
    Add(i64),
    /// Remove the element, member or line.
    Drop,
}

/// One mutation: an edit at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    /// Where.
    pub path: Vec<Step>,
    /// What changes.
    pub edit: Edit,
}

/// Writes a path as `verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope#4.signature`.
fn write_path(f: &mut fmt::Formatter<'_>, path: &[Step], wildcard: bool) -> fmt::Result {
    for (i, step) in path.iter().enumerate() {
        match step {
            Step::Key(key) if i == 0 => write!(f, "{key}")?,
            Step::Key(key) => write!(f, ".{key}")?,
            Step::Index(_) if wildcard => write!(f, "[*]")?,
            Step::Index(index) => write!(f, "[{index}]")?,
            Step::Line(_) if wildcard => write!(f, "#*")?,
            Step::Line(line) => write!(f, "#{line}")?,
            Step::SignerName => write!(f, ".name")?,
            Step::SignatureBytes => write!(f, ".signature")?,
        }
    }
    Ok(())
}

impl fmt::Display for Edit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Edit::Flip { at, mask } => write!(f, "flip {at} ^{mask:#04x}"),
            Edit::Add(delta) => write!(f, "{delta:+}"),
            Edit::Drop => f.write_str("drop"),
        }
    }
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_path(f, &self.path, false)?;
        write!(f, " {}", self.edit)
    }
}

impl Mutation {
    /// The path with every array index written `[*]` and every checkpoint line `#*`, as [`ALLOWED`] names
    /// fields.
    pub fn field_pattern(&self) -> String {
        struct Pattern<'a>(&'a [Step]);
        impl fmt::Display for Pattern<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_path(f, self.0, true)
            }
        }
        Pattern(&self.path).to_string()
    }

    /// The bundle with this mutation applied; `None` when the edit cannot apply or changes nothing (a zero
    /// mask, a character that would not be one, a number that would overflow).
    pub fn apply(&self, bundle: &Value) -> Option<Value> {
        let mut mutated = bundle.clone();
        let (json_path, note_path) = split_at_note(&self.path);
        let (last, parent_path) = json_path.split_last()?;
        let parent = walk_mut(&mut mutated, parent_path)?;
        if note_path.is_empty() && self.edit == Edit::Drop {
            match (parent, last) {
                (Value::Object(members), Step::Key(key)) => {
                    // A member with protobuf's default value means the same as no member.
                    members.remove(key).filter(|removed| !is_default(removed))?;
                }
                (Value::Array(elements), Step::Index(index)) if *index < elements.len() => {
                    elements.remove(*index);
                }
                _ => return None,
            }
            return Some(mutated);
        }
        let target = walk_mut(parent, std::slice::from_ref(last))?;
        let changed = if note_path.is_empty() {
            edit_value(target, member_kind(&self.path, target)?, self.edit)?
        } else {
            Value::String(edit_note(target.as_str()?, note_path, self.edit)?)
        };
        (*target != changed).then(|| *target = changed)?;
        Some(mutated)
    }
}

fn is_default(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty() || text == "0",
        Value::Array(elements) => elements.is_empty(),
        Value::Object(members) => members.is_empty(),
    }
}

/// Splits a path into its JSON part and its part inside a checkpoint note (from the line on).
fn split_at_note(path: &[Step]) -> (&[Step], &[Step]) {
    let note_at = path.iter().position(|step| matches!(step, Step::Line(_)));
    path.split_at(note_at.unwrap_or(path.len()))
}

/// The key name and base64 signature of a checkpoint signature line, `— NAME SIGNATURE`.
fn signature_line(line: &str) -> Option<(&str, &str)> {
    line.strip_prefix("— ")?.rsplit_once(' ')
}

fn walk<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get(key.as_str()),
        Step::Index(index) => value.get(*index),
        _ => None,
    })
}

fn walk_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Key(key) => value.get_mut(key.as_str()),
        Step::Index(index) => value.get_mut(*index),
        _ => None,
    })
}

/// The kind of a JSON leaf, from its value and the member it is in (its own key, or its array's).
fn member_kind(path: &[Step], value: &Value) -> Option<FieldKind> {
    let member = path.iter().rev().find_map(|step| match step {
        Step::Key(key) => Some(key.as_str()),
        _ => None,
    });
    match value {
        Value::Number(_) => Some(FieldKind::Number),
        Value::String(text) if member.is_some_and(|m| BASE64_MEMBERS.contains(&m)) => STANDARD
            .decode(text)
            .is_ok()
            .then_some(FieldKind::Bytes)
            .or(Some(FieldKind::Text)),
        Value::String(text) if is_decimal(text) => Some(FieldKind::Number),
        Value::String(_) => Some(FieldKind::Text),
        _ => None,
    }
}

fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn edit_value(value: &Value, kind: FieldKind, edit: Edit) -> Option<Value> {
    match (value, kind) {
        (Value::Number(number), FieldKind::Number) => {
            Some(Value::from(add(number.as_i64()?, edit)?))
        }
        (Value::String(text), kind) => Some(Value::String(edit_text(text, kind, edit)?)),
        _ => None,
    }
}

fn add(number: i64, edit: Edit) -> Option<i64> {
    match edit {
        Edit::Add(delta) if delta != 0 => number.checked_add(delta),
        _ => None,
    }
}

fn edit_text(text: &str, kind: FieldKind, edit: Edit) -> Option<String> {
    match (kind, edit) {
        (FieldKind::Number, _) => Some(add(text.parse().ok()?, edit)?.to_string()),
        (FieldKind::Bytes, Edit::Flip { at, mask }) if mask != 0 => {
            let mut bytes = STANDARD.decode(text).ok()?;
            let len = bytes.len();
            *bytes.get_mut(at.checked_rem(len)?)? ^= mask;
            Some(STANDARD.encode(bytes))
        }
        (FieldKind::Text, Edit::Flip { at, mask }) if mask != 0 => {
            let mut chars: Vec<char> = text.chars().collect();
            let len = chars.len();
            let c = chars.get_mut(at.checked_rem(len)?)?;
            *c = char::from_u32(u32::from(*c) ^ u32::from(mask))?;
            Some(chars.into_iter().collect())
        }
        _ => None,
    }
}

/// A checkpoint note's line and its kind: the origin, the tree size, the root hash (base64), extension
/// lines, the blank line, then signature lines.
fn note_line_kind(lines: &[&str], index: usize) -> Option<FieldKind> {
    let blank = lines.iter().position(|line| line.is_empty())?;
    match index {
        1 => Some(FieldKind::Number),
        2 => Some(FieldKind::Bytes),
        i if i < blank => Some(FieldKind::Text),
        _ => None,
    }
}

fn edit_note(note: &str, path: &[Step], edit: Edit) -> Option<String> {
    let mut lines: Vec<String> = note.split('\n').map(str::to_string).collect();
    let plain: Vec<&str> = note.split('\n').collect();
    let (Step::Line(index), part) = path.split_first()? else {
        return None;
    };
    let line = lines.get_mut(*index)?;
    match (part, edit) {
        ([], Edit::Drop) => {
            lines.remove(*index);
        }
        ([], edit) => *line = edit_text(line, note_line_kind(&plain, *index)?, edit)?,
        ([part], edit) => {
            let (name, signature) = signature_line(line)?;
            *line = match part {
                Step::SignerName => {
                    format!("— {} {signature}", edit_text(name, FieldKind::Text, edit)?)
                }
                Step::SignatureBytes => {
                    format!("— {name} {}", edit_text(signature, FieldKind::Bytes, edit)?)
                }
                _ => return None,
            };
        }
        _ => return None,
    }
    Some(lines.join("\n"))
}

/// Every place in `bundle` a mutation can change, in document order.
pub fn fields(bundle: &Value) -> Vec<Field> {
    let mut found = Vec::new();
    collect_fields(bundle, &mut Vec::new(), false, &mut found);
    found
}

fn collect_fields(value: &Value, path: &mut Vec<Step>, droppable: bool, found: &mut Vec<Field>) {
    let is_note = path.ends_with(&[Step::Key("checkpoint".into()), Step::Key("envelope".into())]);
    // Arrays, objects and a checkpoint note as a whole can only be dropped; their parts are fields of their own.
    let kind = match value {
        Value::Object(_) | Value::Array(_) => None,
        Value::String(_) if is_note => None,
        leaf => member_kind(path, leaf),
    };
    if droppable || kind.is_some() {
        found.push(Field {
            path: path.clone(),
            kind,
            droppable,
        });
    }
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                path.push(Step::Key(key.clone()));
                collect_fields(member, path, true, found);
                path.pop();
            }
        }
        Value::Array(elements) => {
            for (index, element) in elements.iter().enumerate() {
                path.push(Step::Index(index));
                collect_fields(element, path, true, found);
                path.pop();
            }
        }
        Value::String(note) if is_note => collect_note_fields(note, path, found),
        _ => {}
    }
}

fn collect_note_fields(note: &str, path: &[Step], found: &mut Vec<Field>) {
    let lines: Vec<&str> = note.split('\n').collect();
    let at = |steps: &[Step]| [path, steps].concat();
    for (index, line) in lines.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
        match note_line_kind(&lines, index) {
            Some(kind) => found.push(Field {
                path: at(&[Step::Line(index)]),
                kind: Some(kind),
                droppable: true,
            }),
            None => {
                found.push(Field {
                    path: at(&[Step::Line(index)]),
                    kind: None,
                    droppable: true,
                });
                if signature_line(line).is_some() {
                    for (part, kind) in [
                        (Step::SignerName, FieldKind::Text),
                        (Step::SignatureBytes, FieldKind::Bytes),
                    ] {
                        found.push(Field {
                            path: at(&[Step::Line(index), part]),
                            kind: Some(kind),
                            droppable: false,
                        });
                    }
                }
            }
        }
    }
}

/// The deterministic mutations of `bundle`: a flipped low bit at the first byte, every eighth and the last
/// byte of every base64 field, at the first, middle and last character of every text field, ±1 on every
/// number, and the removal of everything removable.
/// Each one changes the bundle ([`Mutation::apply`] gives `Some`).
pub fn mutations(bundle: &Value) -> Vec<Mutation> {
    let mut all = Vec::new();
    for field in fields(bundle) {
        let mut edits = Vec::new();
        if field.droppable {
            edits.push(Edit::Drop);
        }
        match field.kind {
            Some(FieldKind::Number) => edits.extend([Edit::Add(1), Edit::Add(-1)]),
            Some(kind @ (FieldKind::Bytes | FieldKind::Text)) => {
                let len = field_len(bundle, &field).unwrap_or(0);
                let eighths = if kind == FieldKind::Bytes { 8 } else { 2 };
                let mut positions: Vec<usize> = (0..eighths)
                    .map(|i| i * len / eighths)
                    .chain([len.saturating_sub(1)])
                    .collect();
                positions.dedup();
                edits.extend(positions.into_iter().map(|at| Edit::Flip { at, mask: 1 }));
            }
            None => {}
        }
        all.extend(
            edits
                .into_iter()
                .map(|edit| Mutation {
                    path: field.path.clone(),
                    edit,
                })
                .filter(|mutation| mutation.apply(bundle).is_some()),
        );
    }
    all
}

/// The length of a text or base64 field in the unit its flips count: characters, or decoded bytes.
fn field_len(bundle: &Value, field: &Field) -> Option<usize> {
    let (json_path, note_path) = split_at_note(&field.path);
    let text = walk(bundle, json_path)?.as_str()?;
    let text = match note_path {
        [] => text,
        [Step::Line(index), part @ ..] => {
            let line = text.split('\n').nth(*index)?;
            match part {
                [] => line,
                [Step::SignerName] => signature_line(line)?.0,
                [Step::SignatureBytes] => signature_line(line)?.1,
                _ => return None,
            }
        }
        _ => return None,
    };
    match field.kind? {
        FieldKind::Bytes => STANDARD.decode(text).ok().map(|bytes| bytes.len()),
        FieldKind::Text | FieldKind::Number => Some(text.chars().count()),
    }
}

/// Which edits an [`Allowance`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditClass {
    /// Every edit.
    Any,
    /// Only removal.
    Drop,
    /// Only a flipped bit or character.
    Flip,
}

/// When an [`Allowance`] applies, judged on the bundle before the mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Always.
    Always,
    /// The mutated log entry is Rekor v2 (`hashedrekord` 0.0.2, as `sigstore-verify` tells it).
    RekorV2Entry,
    /// The mutated log entry has no inclusion promise (SET).
    EntryWithoutSet,
    /// The mutated log entry keeps an inclusion proof, and the signer is a key (no time is needed) or the
    /// bundle has an RFC 3161 timestamp (which gives the time).
    SetRedundant,
    /// The bundle is v0.1 (its media type, or none) and the mutated log entry has an inclusion promise.
    V01WithSet,
    /// A Rekor v1 log entry has an inclusion promise (its integrated time is verified), or the signer is a
    /// key.
    OtherTimeSource,
    /// The mutated checkpoint line is a signature by another key than the log's (its key hint is not the
    /// entry's log ID).
    WitnessLine,
    /// The flipped byte of an RFC 3161 timestamp lies outside what the timestamp authority signed.
    OutsideTsaSignature,
}

/// A mutation that may still verify, because it changes nothing that was signed: the field is not signed,
/// is a copy of signed data that the verifier does not read, or is evidence another verified part of the
/// bundle makes redundant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// The field, as [`Mutation::field_pattern`] writes it.
    pub field: &'static str,
    /// Which edits.
    pub edits: EditClass,
    /// Under which condition.
    pub when: When,
    /// Why nothing signed changes.
    pub reason: &'static str,
}

const ENTRY: &str = "verificationMaterial.tlogEntries[*]";

/// Every mutation allowed to verify (for the Sigstore project's `sigstore-verify` 0.15 behind Palisade's
/// verifier), with its reason. Anything else that verifies changed what was signed.
pub const ALLOWED: &[Allowance] = &[
    Allowance {
        field: "mediaType",
        edits: EditClass::Any,
        when: When::Always,
        reason: "not signed: it chooses the bundle version's rules (none means v0.1), and the content is \
                 still verified under them",
    },
    Allowance {
        field: "messageSignature.messageDigest",
        edits: EditClass::Drop,
        when: When::Always,
        reason: "a hint: the verifier hashes the artifact itself and checks the signature and the log entry \
                 over that digest (a digest that is present must match)",
    },
    Allowance {
        field: "verificationMaterial.publicKey.hint",
        edits: EditClass::Any,
        when: When::Always,
        reason: "not signed: the key to verify with is the caller's, not looked up by this hint",
    },
    Allowance {
        field: "verificationMaterial.tlogEntries[*].inclusionProof.checkpoint.envelope#*.name",
        edits: EditClass::Flip,
        when: When::Always,
        reason: "not signed: a note signature covers the note body; the log key is found by the key hint",
    },
    Allowance {
        field: "verificationMaterial.tlogEntries[*].inclusionProof.checkpoint.envelope#*",
        edits: EditClass::Drop,
        when: When::WitnessLine,
        reason: "a witness cosignature: the trust root requires none, and the log's own signature line is \
                 still verified",
    },
    Allowance {
        field: "verificationMaterial.tlogEntries[*].inclusionProof.checkpoint.envelope#*.signature",
        edits: EditClass::Any,
        when: When::WitnessLine,
        reason: "a witness cosignature: the trust root requires none, and the log's own signature line is \
                 still verified",
    },
    Allowance {
        field: "verificationMaterial.tlogEntries[*].inclusionProof.logIndex",
        edits: EditClass::Any,
        when: When::RekorV2Entry,
        reason: "an unauthenticated copy: for Rekor v2 the proof is checked at the entry's logIndex",
    },
    Allowance {
        field: "verificationMaterial.tlogEntries[*].inclusionProof.treeSize",
        edits: EditClass::Any,
        when: When::RekorV2Entry,
        reason: "an unauthenticated copy: for Rekor v2 the proof is checked against the signed checkpoint's \
                 tree size",
    },
    Allowance {
        field: "verificationMaterial.tlogEntries[*].inclusionProof.rootHash",
        edits: EditClass::Any,
        when: When::RekorV2Entry,
        reason: "an unauthenticated copy: for Rekor v2 the proof is checked against the signed checkpoint's \
                 root hash",
    },
    Allowance {
        field: "verificationMaterial.tlogEntries[*].logId.keyId",
        edits: EditClass::Flip,
        when: When::EntryWithoutSet,
        reason: "only a SET signs the log ID; without one the log key is found by the checkpoint's key hint",
    },
    Allowance {
        field: "verificationMaterial.tlogEntries[*].inclusionPromise",
        edits: EditClass::Drop,
        when: When::SetRedundant,
        reason: "redundant: the inclusion proof and signed checkpoint still prove the entry is in the log, \
                 and the signing time is not needed (a key) or comes from the RFC 3161 timestamp",
    },
    Allowance {
        field: "verificationMaterial.tlogEntries[*].inclusionProof",
        edits: EditClass::Drop,
        when: When::V01WithSet,
        reason: "a v0.1 bundle needs only the inclusion promise (SET), which is still verified",
    },
    Allowance {
        field: "verificationMaterial.timestampVerificationData",
        edits: EditClass::Drop,
        when: When::OtherTimeSource,
        reason: "redundant: the SET's integrated time is a verified time (or a key needs none)",
    },
    Allowance {
        field: "verificationMaterial.timestampVerificationData.rfc3161Timestamps",
        edits: EditClass::Drop,
        when: When::OtherTimeSource,
        reason: "redundant: the SET's integrated time is a verified time (or a key needs none)",
    },
    Allowance {
        field: "verificationMaterial.timestampVerificationData.rfc3161Timestamps[*]",
        edits: EditClass::Drop,
        when: When::OtherTimeSource,
        reason: "redundant: the SET's integrated time is a verified time (or a key needs none)",
    },
    Allowance {
        field: "verificationMaterial.timestampVerificationData.rfc3161Timestamps[*].signedTimestamp",
        edits: EditClass::Flip,
        when: When::OutsideTsaSignature,
        reason: "not signed by the timestamp authority: the response status (granted or granted with \
                 modifications), the CMS framing, and the embedded certificates, which the verifier does not \
                 trust (it checks the signature with the TSA certificate of the trust root)",
    },
];

/// The allowance that covers `mutation` of `bundle` (signed by a key when `keyed`), if any.
pub fn allowance(bundle: &Value, mutation: &Mutation, keyed: bool) -> Option<&'static Allowance> {
    let pattern = mutation.field_pattern();
    ALLOWED.iter().find(|allowance| {
        allowance.field == pattern
            && match allowance.edits {
                EditClass::Any => true,
                EditClass::Drop => mutation.edit == Edit::Drop,
                EditClass::Flip => matches!(mutation.edit, Edit::Flip { .. }),
            }
            && holds(allowance.when, bundle, mutation, keyed)
    })
}

fn holds(when: When, bundle: &Value, mutation: &Mutation, keyed: bool) -> bool {
    let entries = || {
        bundle["verificationMaterial"]["tlogEntries"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
    };
    let entry = match mutation.path.get(2) {
        Some(Step::Index(index)) if mutation.field_pattern().starts_with(ENTRY) => {
            entries().get(*index)
        }
        _ => None,
    };
    let timestamps =
        bundle["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"]
            .as_array()
            .is_some_and(|t| !t.is_empty());
    let rekor_v2 = |entry: &Value| {
        entry["kindVersion"]["kind"] == "hashedrekord" && entry["kindVersion"]["version"] == "0.0.2"
    };
    let has = |entry: Option<&Value>, member: &str| entry.is_some_and(|e| e.get(member).is_some());
    match when {
        When::Always => true,
        When::RekorV2Entry => entry.is_some_and(rekor_v2),
        When::EntryWithoutSet => entry.is_some() && !has(entry, "inclusionPromise"),
        When::SetRedundant => has(entry, "inclusionProof") && (keyed || timestamps),
        When::V01WithSet => {
            bundle["mediaType"]
                .as_str()
                .is_none_or(|media_type| media_type.ends_with("version=0.1"))
                && has(entry, "inclusionPromise")
        }
        When::OtherTimeSource => {
            keyed
                || entries()
                    .iter()
                    .any(|e| !rekor_v2(e) && e.get("inclusionPromise").is_some())
        }
        When::WitnessLine => entry.is_some_and(|entry| witness_line(entry, &mutation.path)),
        When::OutsideTsaSignature => outside_tsa_signature(bundle, mutation),
    }
}

/// Whether the checkpoint line at `path` is signed by another key than the entry's log.
fn witness_line(entry: &Value, path: &[Step]) -> bool {
    let Some(Step::Line(index)) = path.iter().find(|step| matches!(step, Step::Line(_))) else {
        return false;
    };
    let log_hint = entry["logId"]["keyId"]
        .as_str()
        .and_then(|id| STANDARD.decode(id).ok())
        .and_then(|id| id.get(..4).map(<[u8]>::to_vec));
    let line_hint = entry["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .and_then(|note| note.split('\n').nth(*index))
        .and_then(signature_line)
        .and_then(|(_, signature)| STANDARD.decode(signature).ok())
        .and_then(|signature| signature.get(..4).map(<[u8]>::to_vec));
    line_hint.is_some() && line_hint != log_hint
}

/// Whether `mutation` flips a byte of an RFC 3161 timestamp outside what the timestamp authority signed:
/// the response status, the CMS framing, the embedded certificates.
fn outside_tsa_signature(bundle: &Value, mutation: &Mutation) -> bool {
    let Edit::Flip { at, .. } = mutation.edit else {
        return false;
    };
    let der = walk(bundle, &mutation.path)
        .and_then(Value::as_str)
        .and_then(|text| STANDARD.decode(text).ok())
        .unwrap_or_default();
    let Some(at) = at.checked_rem(der.len()) else {
        return false;
    };
    tsa_signed_parts(&der).is_some_and(|signed| {
        signed
            .iter()
            .all(|part| !(part.start..part.end).contains(&at))
    })
}

/// The parts of a DER `TimeStampResp` (or its `ContentInfo` token alone) that the timestamp authority's
/// signature covers: the encapsulated TSTInfo, the signed attributes, and the signature itself.
fn tsa_signed_parts(der: &[u8]) -> Option<[DerElement; 3]> {
    // TimeStampResp { status, ContentInfo { contentType, [0] { SignedData { version, digestAlgorithms,
    // encapContentInfo { eContentType, [0] { eContent } }, [0] certificates, [1] crls,
    // signerInfos { SignerInfo { version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm,
    // signature, [1] unsignedAttrs } } } } } }
    let outer = der_element(der, 0)?;
    let token = match der_children(der, outer).as_slice() {
        [status, token, ..] if status.tag == 0x30 => *token,
        _ => outer,
    };
    let explicit = *der_children(der, token).get(1)?;
    let signed_data = *der_children(der, explicit).first()?;
    let parts = der_children(der, signed_data);
    let encapsulated = *parts.get(2)?;
    let content = *der_children(der, *der_children(der, encapsulated).get(1)?).first()?;
    let signer = *der_children(der, *parts.last()?).first()?;
    let signer_parts = der_children(der, signer);
    let signed_attributes = *signer_parts.iter().find(|part| part.tag == 0xA0)?;
    let signature = *signer_parts.iter().find(|part| part.tag == 0x04)?;
    Some([content, signed_attributes, signature])
}

/// A DER element: its tag, and where it starts, its content starts, and it ends.
#[derive(Debug, Clone, Copy)]
struct DerElement {
    tag: u8,
    start: usize,
    content: usize,
    end: usize,
}

/// The elements inside `parent`, in order.
fn der_children(der: &[u8], parent: DerElement) -> Vec<DerElement> {
    std::iter::successors(der_element(der, parent.content), |child| {
        der_element(der, child.end)
    })
    .take_while(|child| child.end <= parent.end)
    .collect()
}

/// The DER element at `offset`.
fn der_element(der: &[u8], offset: usize) -> Option<DerElement> {
    let tag = *der.get(offset)?;
    let first = *der.get(offset + 1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        let bytes = der.get(offset + 2..offset + 2 + count)?;
        let len = bytes.iter().try_fold(0usize, |len, b| {
            len.checked_mul(256)?.checked_add(usize::from(*b))
        })?;
        (len, 2 + count)
    };
    let content = offset + header;
    let end = content.checked_add(len).filter(|end| *end <= der.len())?;
    Some(DerElement {
        tag,
        start: offset,
        content,
        end,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(case: &str) -> Value {
        let path = crate::conformance_suite()
            .join(case)
            .join("bundle.sigstore.json");
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn mutation(path: &str, edit: Edit) -> Mutation {
        let mut steps = Vec::new();
        for part in path.split('.') {
            match part.split_once('[') {
                Some((key, index)) => {
                    steps.push(Step::Key(key.into()));
                    steps.push(Step::Index(index.trim_end_matches(']').parse().unwrap()));
                }
                None => steps.push(Step::Key(part.into())),
            }
        }
        Mutation { path: steps, edit }
    }

    #[test]
    fn a_flip_changes_one_decoded_byte_and_nothing_else() {
        let original = bundle("happy-path-v0.3");
        let flip = mutation(
            "messageSignature.signature",
            Edit::Flip { at: 3, mask: 0x80 },
        );
        let mutated = flip.apply(&original).unwrap();
        let decode = |b: &Value| {
            STANDARD
                .decode(b["messageSignature"]["signature"].as_str().unwrap())
                .unwrap()
        };
        let (before, after) = (decode(&original), decode(&mutated));
        assert_eq!(before.len(), after.len());
        let differ: Vec<usize> = (0..before.len())
            .filter(|&i| before[i] != after[i])
            .collect();
        assert_eq!(differ, [3]);
        assert_eq!(before[3] ^ 0x80, after[3]);
        assert_eq!(
            mutated["verificationMaterial"],
            original["verificationMaterial"]
        );
        assert_eq!(flip.to_string(), "messageSignature.signature flip 3 ^0x80");
    }

    #[test]
    fn numbers_in_strings_stay_strings_and_defaults_are_not_dropped() {
        let original = bundle("intoto-with-custom-trust-root");
        let add = mutation(
            "verificationMaterial.tlogEntries[0].integratedTime",
            Edit::Add(-1),
        );
        let mutated = add.apply(&original).unwrap();
        let time =
            |b: &Value| b["verificationMaterial"]["tlogEntries"][0]["integratedTime"].clone();
        let before: i64 = time(&original).as_str().unwrap().parse().unwrap();
        assert_eq!(time(&mutated), Value::from((before - 1).to_string()));
        // `logIndex: "0"` and `hashes: []` are protobuf defaults: dropping them changes nothing.
        for path in [
            "verificationMaterial.tlogEntries[0].inclusionProof.logIndex",
            "verificationMaterial.tlogEntries[0].inclusionProof.hashes",
        ] {
            assert_eq!(mutation(path, Edit::Drop).apply(&original), None, "{path}");
        }
    }

    #[test]
    fn checkpoint_lines_are_fields_and_witness_lines_are_told_apart() {
        let original = bundle("rekor2-checkpoint-cosigned");
        let note_fields: Vec<String> = fields(&original)
            .into_iter()
            .filter(|field| field.path.iter().any(|step| matches!(step, Step::Line(_))))
            .map(|field| {
                Mutation {
                    path: field.path,
                    edit: Edit::Drop,
                }
                .to_string()
            })
            .collect();
        let envelope = "verificationMaterial.tlogEntries[0].inclusionProof.checkpoint.envelope";
        for line in [
            "#0",
            "#1",
            "#2",
            "#4",
            "#4.name",
            "#4.signature",
            "#5",
            "#5.name",
            "#5.signature",
        ] {
            assert!(
                note_fields.contains(&format!("{envelope}{line} drop")),
                "{line}: {note_fields:?}"
            );
        }
        let line = |index| {
            let mut path = mutation(envelope, Edit::Drop).path;
            path.push(Step::Line(index));
            Mutation {
                path,
                edit: Edit::Drop,
            }
        };
        let dropped = line(5).apply(&original).unwrap();
        let note = |b: &Value| {
            b["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]["envelope"]
                .as_str()
                .unwrap()
                .lines()
                .count()
        };
        assert_eq!(note(&dropped), note(&original) - 1);
        assert!(
            allowance(&original, &line(5), false).is_some(),
            "line 5 is a witness's"
        );
        assert!(
            allowance(&original, &line(4), false).is_none(),
            "line 4 is the log's"
        );
    }

    #[test]
    fn only_flips_outside_what_the_tsa_signed_are_allowed() {
        let path =
            "verificationMaterial.timestampVerificationData.rfc3161Timestamps[0].signedTimestamp";
        for case in [
            "rekor2-timestamp-with-embedded-cert",
            "rekor2-timestamp-without-embedded-cert",
        ] {
            let bundle = bundle(case);
            let der = STANDARD
                .decode(
                    walk(&bundle, &mutation(path, Edit::Drop).path)
                        .unwrap()
                        .as_str()
                        .unwrap(),
                )
                .unwrap();
            let outside =
                |at| outside_tsa_signature(&bundle, &mutation(path, Edit::Flip { at, mask: 1 }));
            assert_eq!(
                &der[4..9],
                [0x30, 0x03, 0x02, 0x01, 0x00],
                "{case}: status granted"
            );
            assert!(outside(8), "{case}: the response status");
            let signed = tsa_signed_parts(&der).unwrap();
            for part in signed {
                for at in [part.start, (part.start + part.end) / 2, part.end - 1] {
                    assert!(!outside(at), "{case}: byte {at} of {part:?}");
                }
            }
            let middle_signed = !outside(der.len() / 2);
            assert_eq!(
                middle_signed,
                case.ends_with("without-embedded-cert"),
                "{case}: the middle byte lies in the embedded TSA certificate when there is one"
            );
        }
    }
}
