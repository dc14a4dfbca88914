//! The Kubewarden documents made from a policy's metadata, as kwctl scaffolds them: [`manifest`] (a
//! `ClusterAdmissionPolicy` or `AdmissionPolicy`) and [`artifacthub`] (Artifact Hub's `artifacthub-pkg.yml`).
//! Pure formats: `palisade scaffold` and the registry's hub make the same documents from them.

pub mod artifacthub;
pub mod manifest;

#[cfg(test)]
pub(crate) mod tests {
    /// Metadata from a YAML document, for the tests of the documents made from metadata.
    pub(crate) fn metadata(yaml: &str) -> crate::metadata::Metadata {
        crate::metadata::MetadataFile::parse(yaml)
            .unwrap_or_else(|err| panic!("{err}"))
            .metadata
    }
}
