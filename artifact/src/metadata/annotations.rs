//! The annotation keys that tools understand.

/// Set by `kwctl annotate` to the kwctl version that wrote the metadata.
pub const KUBEWARDEN_ANNOTATION_KWCTL_VERSION: &str = "io.kubewarden.kwctl";

/// Set by `palisade annotate` to the Palisade version that wrote the metadata.
pub const ANNOTATION_PALISADE_VERSION: &str = "io.palisade.version";

/// The well-known `io.kubewarden.policy.*` annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WellKnown {
    /// A short name.
    Title,
    /// The policy's own version.
    Version,
    /// One or two sentences on what it does.
    Description,
    /// Who wrote it.
    Author,
    /// Its home page.
    Url,
    /// Where it is published (`ghcr.io/org/policy`).
    OciUrl,
    /// Where its source code is.
    Source,
    /// Its SPDX license expression.
    License,
    /// Usage documentation in Markdown.
    Usage,
    /// `low`, `medium`, `high`…
    Severity,
    /// A category for catalogues.
    Category,
}

impl WellKnown {
    /// Every well-known annotation, in display order.
    pub const ALL: [WellKnown; 11] = [
        WellKnown::Title,
        WellKnown::Version,
        WellKnown::Description,
        WellKnown::Author,
        WellKnown::Url,
        WellKnown::OciUrl,
        WellKnown::Source,
        WellKnown::License,
        WellKnown::Severity,
        WellKnown::Category,
        WellKnown::Usage,
    ];

    /// The annotation key.
    pub fn key(self) -> &'static str {
        match self {
            WellKnown::Title => "io.kubewarden.policy.title",
            WellKnown::Version => "io.kubewarden.policy.version",
            WellKnown::Description => "io.kubewarden.policy.description",
            WellKnown::Author => "io.kubewarden.policy.author",
            WellKnown::Url => "io.kubewarden.policy.url",
            WellKnown::OciUrl => "io.kubewarden.policy.ociUrl",
            WellKnown::Source => "io.kubewarden.policy.source",
            WellKnown::License => "io.kubewarden.policy.license",
            WellKnown::Usage => "io.kubewarden.policy.usage",
            WellKnown::Severity => "io.kubewarden.policy.severity",
            WellKnown::Category => "io.kubewarden.policy.category",
        }
    }

    /// A human label for listings.
    pub fn label(self) -> &'static str {
        match self {
            WellKnown::Title => "title",
            WellKnown::Version => "version",
            WellKnown::Description => "description",
            WellKnown::Author => "author",
            WellKnown::Url => "url",
            WellKnown::OciUrl => "oci url",
            WellKnown::Source => "source",
            WellKnown::License => "license",
            WellKnown::Usage => "usage",
            WellKnown::Severity => "severity",
            WellKnown::Category => "category",
        }
    }
}
