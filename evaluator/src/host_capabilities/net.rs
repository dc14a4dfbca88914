//! `net/v1/dns_lookup_host`: the addresses a host name resolves to, through the system resolver.
//!
//! Payload: the host name as a JSON string. Answer: `{"ips": ["127.0.0.1", "::1"]}`, each
//! address once, in the resolver's order.

use std::net::ToSocketAddrs;

use serde::Serialize;

use super::payload;

/// The capability's name.
pub const DNS_LOOKUP_HOST: &str = "net/v1/dns_lookup_host";

/// Kubewarden's `LookupResponse`.
#[derive(Debug, Serialize)]
struct LookupResponse {
    ips: Vec<String>,
}

/// Resolves the host name in `payload`.
pub fn dns_lookup_host(payload: &[u8]) -> Result<Vec<u8>, String> {
    let host: String = payload::parse(payload, "a host name as a JSON string")?;
    if host.is_empty() {
        return Err("the host name is empty".into());
    }
    let addresses = (host.as_str(), 0)
        .to_socket_addrs()
        .map_err(|err| format!("resolving {host}: {err}"))?;
    let mut ips: Vec<String> = Vec::new();
    for address in addresses {
        let ip = address.ip().to_string();
        if !ips.contains(&ip) {
            ips.push(ip);
        }
    }
    payload::answer(&LookupResponse { ips })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn localhost_resolves_to_loopback() -> Result<(), String> {
        let answer: serde_json::Value = serde_json::from_slice(&dns_lookup_host(b"\"localhost\"")?)
            .map_err(|err| err.to_string())?;
        let ips = answer["ips"].as_array().cloned().unwrap_or_default();
        assert!(
            ips.iter().any(|ip| ip == "127.0.0.1" || ip == "::1"),
            "{answer}"
        );
        Ok(())
    }

    #[test]
    fn bad_names_are_errors() {
        assert!(dns_lookup_host(b"42").is_err_and(|err| err.contains("JSON string")));
        assert!(dns_lookup_host(b"\"\"").is_err_and(|err| err.contains("empty")));
        assert!(
            dns_lookup_host(b"\"no-such-host.invalid\"")
                .is_err_and(|err| err.contains("resolving no-such-host.invalid"))
        );
    }
}
