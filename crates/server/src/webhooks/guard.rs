//! The SSRF guard: in live mode a webhook may only go to `https://` on a public address.
//! Checked when an endpoint is saved and again at every delivery, where the host is
//! re-resolved and the connection made only to addresses that passed (DNS rebinding).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a URL may not receive webhooks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("must be an absolute http(s) URL")]
    NotHttp,
    #[error("must use https in live mode")]
    NotHttps,
    #[error("must not contain credentials")]
    Credentials,
    #[error("{0} is a private, loopback or link-local address")]
    Private(IpAddr),
    #[error("host {0} does not resolve")]
    Unresolvable(String),
}

/// Checks the URL's form; in live mode also its scheme and, for an IP literal, its address.
/// Host names are checked by `resolve_public`.
pub fn check_url(raw: &str, live: bool) -> Result<Url, Refusal> {
    let url = Url::parse(raw).map_err(|_| Refusal::NotHttp)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Refusal::NotHttp);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refusal::Credentials);
    }
    if live {
        if url.scheme() != "https" {
            return Err(Refusal::NotHttps);
        }
        if let Some(ip) = literal_ip(&url) {
            if !is_public(ip) {
                return Err(Refusal::Private(ip));
            }
        }
    }
    Ok(url)
}

/// Resolves the URL's host and refuses it unless every address is public.
pub async fn resolve_public(url: &Url) -> Result<Vec<SocketAddr>, Refusal> {
    if let Some(ip) = literal_ip(url) {
        return if is_public(ip) {
            Ok(vec![SocketAddr::new(ip, 0)])
        } else {
            Err(Refusal::Private(ip))
        };
    }
    let host = url.host_str().unwrap_or_default().to_string();
    resolve(&host).await
}

async fn resolve(host: &str) -> Result<Vec<SocketAddr>, Refusal> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|_| Refusal::Unresolvable(host.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(Refusal::Unresolvable(host.to_string()));
    }
    if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(Refusal::Private(bad.ip()));
    }
    Ok(addrs)
}

fn literal_ip(url: &Url) -> Option<IpAddr> {
    let host = url.host_str()?;
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// True for globally routable unicast addresses only.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19))) // benchmarking
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x64 && ip.segments()[1] == 0xff9b) // NAT64 may reach private v4
        || first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
}

/// reqwest's resolver in live mode: connects only to addresses that passed the guard,
/// resolved at the moment of delivery.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let addrs = resolve(name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_mode_refuses_private_targets_and_plain_http() {
        for url in [
            "https://127.0.0.1/hook",
            "https://10.1.2.3/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/hook",
            "https://[fe80::1]/hook",
            "https://[::ffff:192.168.0.1]/hook",
            "https://0.0.0.0/hook",
            "https://100.64.0.1/hook",
        ] {
            assert!(
                matches!(check_url(url, true), Err(Refusal::Private(_))),
                "{url}"
            );
        }
        assert_eq!(
            check_url("http://example.com/hook", true),
            Err(Refusal::NotHttps)
        );
        assert_eq!(check_url("ftp://example.com", false), Err(Refusal::NotHttp));
        assert_eq!(
            check_url("https://u:p@example.com", false),
            Err(Refusal::Credentials)
        );
        assert!(check_url("https://93.184.216.34/hook", true).is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook", false).is_ok());
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused() {
        let url = check_url("https://localhost/hook", true).unwrap();
        assert!(matches!(
            resolve_public(&url).await,
            Err(Refusal::Private(ip)) if ip.is_loopback()
        ));
    }
}
