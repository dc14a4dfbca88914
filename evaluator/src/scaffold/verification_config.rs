//! Kubewarden's default verification config (`palisade scaffold verification-config`): only
//! policies signed by Kubewarden's GitHub Actions are trusted. The YAML is the one
//! `kwctl scaffold verification-config` prints, field for field (nulls included).

/// The configuration document, after a comment saying what it is and how to use it.
pub fn default_verification_config() -> String {
    format!("{HEADER}{DOCUMENT}")
}

const HEADER: &str = "\
# Kubewarden's default verification config: a policy is trusted only when it has
# been signed, keyless, by a GitHub Actions workflow of the `kubewarden` organisation.
#
# Save it and hand it to the commands that verify policies:
#   palisade scaffold verification-config > verification-config.yml
#   palisade verify --verification-config verification-config.yml REF
#   palisade run --verification-config verification-config.yml -r request.json REF
#
# Other requirements (pubKey, genericIssuer, anyOf with minimumMatches) are described at
# https://docs.kubewarden.io/next/howtos/security-hardening/secure-supply-chain
";

const DOCUMENT: &str = "\
apiVersion: v1
allOf:
- kind: githubAction
  owner: kubewarden
  repo: null
  annotations: null
anyOf: null
";

#[cfg(test)]
mod tests {
    use super::*;
    use signing::config::{Requirement, VerificationConfig};

    #[test]
    fn the_default_config_trusts_kubewardens_github_actions_only() {
        let config = VerificationConfig::from_yaml(&default_verification_config())
            .unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(
            config.all_of,
            Some(vec![Requirement::GithubAction {
                owner: "kubewarden".into(),
                repo: None,
                annotations: None,
            }])
        );
        assert_eq!(config.any_of, None);
    }
}
