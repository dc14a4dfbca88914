//! htpasswd files for the tests of registries with users.

/// The text of an htpasswd file (bcrypt hashes, as `htpasswd -B` writes them) for `users` (name, password).
pub fn htpasswd(users: &[(&str, &str)]) -> String {
    users
        .iter()
        .map(|(user, password)| {
            // The lowest cost bcrypt allows: the tests check who may log in, not how slowly.
            let hash = bcrypt::hash(password, 4).unwrap_or_else(|err| panic!("bcrypt: {err}"));
            format!("{user}:{hash}\n")
        })
        .collect()
}
