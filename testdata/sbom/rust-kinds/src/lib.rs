//! A stub: only the manifest and lockfile matter to an SBOM.
