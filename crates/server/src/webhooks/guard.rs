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
    #[error("{0} is not a public address (private, loopback, link-local or reserved)")]
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

/// True for globally routable unicast addresses only: the one place that decides, for v4
/// and v6, whether a webhook may go to an address.
///
/// IPv6 is decided by allow-list: only global unicast `2000::/3` can pass, so the IPv4
/// embeddings below it (`::a.b.c.d` compatible, `::ffff:0:a.b.c.d` SIIT), `100::/64`,
/// NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, `fc00::/7`, `fe80::/10`, `fec0::/10`,
/// multicast and whatever IANA reserves next are refused without a rule each. The one
/// exception is IPv4-mapped `::ffff:a.b.c.d`, which a dual-stack socket sends to
/// `a.b.c.d` itself, so it is judged as that IPv4 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => in_v6(v6, GLOBAL_UNICAST) && !V6_RESERVED.iter().any(|&net| in_v6(v6, net)),
        },
    }
}

/// IANA's special-purpose IPv4 ranges (RFC 6890 and successors) plus multicast and the
/// former class E, none of which a merchant's receiver can legitimately live on.
const V4_RESERVED: [(Ipv4Addr, u8); 15] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8), // "this network", includes unspecified
    (Ipv4Addr::new(10, 0, 0, 0), 8), // private
    (Ipv4Addr::new(100, 64, 0, 0), 10), // carrier-grade NAT
    (Ipv4Addr::new(127, 0, 0, 0), 8), // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16), // link-local, cloud metadata
    (Ipv4Addr::new(172, 16, 0, 0), 12), // private
    (Ipv4Addr::new(192, 0, 0, 0), 24), // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24), // documentation TEST-NET-1
    (Ipv4Addr::new(192, 88, 99, 0), 24), // 6to4 relay anycast, deprecated (RFC 7526)
    (Ipv4Addr::new(192, 168, 0, 0), 16), // private
    (Ipv4Addr::new(198, 18, 0, 0), 15), // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation TEST-NET-2
    (Ipv4Addr::new(203, 0, 113, 0), 24), // documentation TEST-NET-3
    (Ipv4Addr::new(224, 0, 0, 0), 4), // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4), // reserved (former class E), with broadcast 255.255.255.255
];

/// The only IPv6 space IANA allocates for global unicast.
const GLOBAL_UNICAST: (Ipv6Addr, u8) = (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3);

/// Special-purpose ranges inside `2000::/3`.
const V6_RESERVED: [(Ipv6Addr, u8); 4] = [
    // IETF protocol assignments: Teredo 2001::/32 (embeds a server and a client IPv4),
    // benchmarking 2001:2::/48, ORCHIDv2 2001:20::/28 and anycast services no receiver runs on.
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    // 6to4 is refused whole rather than only when the embedded IPv4 is not public: a host
    // with a 6to4 interface tunnels straight to that IPv4, the mechanism is deprecated
    // (RFC 7526), and a 6to4 site always has the public IPv4 it could give us instead.
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let ip = u32::from(ip);
    !V4_RESERVED.iter().any(|&(net, len)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
        ip & mask == u32::from(net)
    })
}

fn in_v6(ip: Ipv6Addr, (net, len): (Ipv6Addr, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net)
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

    /// Addresses that no webhook may reach: the first and last address of each range where
    /// it matters, and the IPv6 forms that embed or reach IPv4.
    const REFUSED: &[&str] = &[
        // IPv4 special-purpose ranges
        "0.0.0.0",
        "0.255.255.255",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "100.127.255.255",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.0.1",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.1",
        "192.0.0.9",
        "192.0.2.1",
        "192.88.99.1",
        "192.168.0.1",
        "192.168.255.255",
        "198.18.0.1",
        "198.19.255.255",
        "198.51.100.1",
        "203.0.113.1",
        "224.0.0.1",
        "239.255.255.255",
        "240.0.0.1",
        "255.255.255.254",
        "255.255.255.255",
        // IPv6 unspecified, loopback, IPv4-compatible (even of a public IPv4: deprecated)
        "::",
        "::1",
        "::127.0.0.1",
        "::10.0.0.1",
        "::8.8.8.8",
        // IPv4-mapped of a non-public IPv4, and the SIIT form whatever it embeds
        "::ffff:127.0.0.1",
        "::ffff:7f00:1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:0.0.0.0",
        "::ffff:0:7f00:1",
        "::ffff:0:10.0.0.1",
        "::ffff:0:8.8.8.8",
        // discard, NAT64 well-known and local-use, outside 2000::/3
        "100::1",
        "100::ffff:ffff:ffff:ffff",
        "64:ff9b::a9fe:a9fe",
        "64:ff9b::8.8.8.8",
        "64:ff9b:1::1",
        "64:ff9b:1:ffff::1",
        "4000::1",
        "5f00::1",
        // IETF assignments: Teredo, benchmarking, ORCHIDv2, rest of 2001::/23
        "2001::1",
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        "2001:2::1",
        "2001:20::1",
        "2001:2f:ffff::1",
        "2001:1ff:ffff::1",
        // documentation, 6to4 embedding a private, a loopback and a public IPv4
        "2001:db8::1",
        "2001:db8:ffff::1",
        "3fff::1",
        "2002:a00:1::1",
        "2002:7f00:1::1",
        "2002:808:808::1",
        // unique local, link-local, site-local, multicast
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "feff::1",
        "ff02::1",
        "ff0e::1",
    ];

    /// Public addresses, including the neighbours of each refused range.
    const ALLOWED: &[&str] = &[
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "9.255.255.255",
        "11.0.0.0",
        "100.63.255.255",
        "100.128.0.0",
        "126.255.255.255",
        "128.0.0.0",
        "169.253.255.255",
        "169.255.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.0.1.0",
        "192.0.3.0",
        "192.88.98.255",
        "192.167.255.255",
        "192.169.0.0",
        "198.17.255.255",
        "198.20.0.0",
        "198.51.99.255",
        "198.51.101.0",
        "203.0.112.255",
        "203.0.114.0",
        "223.255.255.255",
        // IPv4-mapped of a public IPv4 goes to that IPv4
        "::ffff:8.8.8.8",
        "::ffff:5db8:d822",
        // global unicast, including just past 2001::/23, 2001:db8::/32 and 2002::/16
        "2001:4860:4860::8888",
        "2606:4700:4700::1111",
        "2a00:1450:4001::1",
        "2001:200::1",
        "2001:db9::1",
        "2003::1",
        "2c0f:fb50::1",
        "3ffe:ffff::1",
    ];

    #[test]
    fn is_public_decides_by_the_tables() {
        let wrong: Vec<String> = REFUSED
            .iter()
            .map(|a| (a, false))
            .chain(ALLOWED.iter().map(|a| (a, true)))
            .filter(|&(a, public)| is_public(a.parse().unwrap()) != public)
            .map(|(a, public)| {
                format!(
                    "{a} should be {}",
                    if public { "public" } else { "refused" }
                )
            })
            .collect();
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn every_spelling_of_a_private_literal_is_refused_in_urls() {
        for url in [
            "https://[::ffff:0:7f00:1]/hook",
            "https://[::ffff:7f00:1]/hook",
            "https://[0:0:0:0:0:ffff:127.0.0.1]/hook",
            "https://[::FFFF:A9FE:A9FE]/hook",
            "https://[::127.0.0.1]/hook",
            "https://[64:ff9b::169.254.169.254]/hook",
            "https://[2002:a9fe:a9fe::1]/hook",
            "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
            "https://[fec0::1]/hook",
            "https://[100::1]/hook",
            "https://2130706433/hook",
            "https://0x7f.1/hook",
            "https://0177.0.0.1/hook",
        ] {
            assert!(
                matches!(check_url(url, true), Err(Refusal::Private(_))),
                "{url}"
            );
        }
        assert!(check_url("https://[2606:4700:4700::1111]/hook", true).is_ok());
        assert!(check_url("https://[::ffff:8.8.8.8]/hook", true).is_ok());
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
