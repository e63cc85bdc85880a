//! Which HTTP proxy a request goes through: an explicit proxy URL, none, or the environment's
//! `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` (upper or lower case).
//!
//! The drivers read the environment through a lookup function and tunnel through the chosen
//! proxy with HTTP `CONNECT`, so both clients pick the same proxy for the same URL. The rules
//! are curl's: the scheme's own variable first (`HTTPS_PROXY` for `https://`, `HTTP_PROXY` for
//! `http://`), then `ALL_PROXY`; upper case before lower case (except `HTTP_PROXY` under CGI,
//! where a request header could set it); and no proxy for a host that `NO_PROXY` names. Proxy
//! credentials are kept as a [`SecretString`] and never appear in `Debug` output or errors.

use core::fmt;
use core::net::IpAddr;

use crate::error::{Error, Result};
use crate::secret::SecretString;

/// How a client chooses its proxy. The default is [`ProxySetting::FromEnv`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxySetting {
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, read when the client is built.
    #[default]
    FromEnv,
    /// Every request goes straight to the server, whatever the environment says.
    Disabled,
    /// Every request goes through this proxy.
    Explicit(ProxyUrl),
}

/// An `http://` proxy: where it listens and the optional basic credentials it wants.
///
/// ```
/// use syvault_proto::proxy::ProxyUrl;
///
/// let proxy: ProxyUrl = "http://build%40corp:p%3Ass@proxy.corp:3128".parse()?;
/// assert_eq!(proxy.authority(), "proxy.corp:3128");
/// assert_eq!(proxy.username(), Some("build@corp"));
/// assert!(!format!("{proxy:?}").contains("p:ss"));
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    host: String,
    port: u16,
    credentials: Option<(String, SecretString)>,
}

impl ProxyUrl {
    /// `host:port`, with an IPv6 host in brackets.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The host name or address, without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port; 80 when the URL names none.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://host:port`, without credentials.
    pub fn url(&self) -> String {
        format!("http://{}", self.authority())
    }

    /// The user name of the basic credentials, if any.
    pub fn username(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(user, _)| user.as_str())
    }

    /// The password of the basic credentials, if any.
    pub fn password(&self) -> Option<&SecretString> {
        self.credentials.as_ref().map(|(_, password)| password)
    }

    /// The `Proxy-Authorization` value for the credentials (`Basic …`), if any.
    pub fn basic_authorization(&self) -> Option<SecretString> {
        self.credentials.as_ref().map(|(user, password)| {
            let pair = zeroize::Zeroizing::new(format!("{user}:{}", password.expose()));
            SecretString::new(format!(
                "Basic {}",
                crate::encoding::encode_b64(pair.as_bytes())
            ))
        })
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyUrl")
            .field("url", &self.url())
            .field("username", &self.username())
            .field("password", &self.password().map(|_| "[redacted]"))
            .finish()
    }
}

impl core::str::FromStr for ProxyUrl {
    type Err = Error;

    /// Parses `[http://][user[:password]@]host[:port][/]`; user and password may be
    /// percent-encoded. Errors never quote the URL, which may hold a password.
    fn from_str(url: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::invalid_input("proxy URL", reason);
        let url = url.trim();
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some(_) => return Err(invalid("only http:// proxies are supported")),
            None => url,
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(invalid("a proxy URL has no path"));
        }
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, rest),
        };
        let credentials = userinfo
            .map(|info| {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                let user = percent_decode(user).ok_or_else(|| invalid("bad user name"))?;
                let password = percent_decode(password).ok_or_else(|| invalid("bad password"))?;
                Ok::<_, Error>((user, SecretString::new(password)))
            })
            .transpose()?;
        let (host, port) = split_host_port(hostport).ok_or_else(|| invalid("bad host or port"))?;
        Ok(Self {
            host,
            port: port.unwrap_or(80),
            credentials,
        })
    }
}

/// Splits `host[:port]` or `[v6][:port]`; `None` when malformed.
fn split_host_port(hostport: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        host.parse::<core::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':')?),
        };
        (host, port)
    } else {
        match hostport.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'));
    if !valid_host {
        return None;
    }
    let port = port.map(str::parse::<u16>).transpose().ok()?;
    Some((host.to_ascii_lowercase(), port))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = core::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The proxies a client uses, per scheme, and the hosts that bypass them.
///
/// ```
/// use syvault_proto::proxy::{ProxySetting, Proxies};
///
/// let env = |name: &str| match name {
///     "HTTPS_PROXY" => Some("http://proxy.corp:3128".to_owned()),
///     "NO_PROXY" => Some("localhost,.internal".to_owned()),
///     _ => None,
/// };
/// let proxies = Proxies::resolve(&ProxySetting::FromEnv, env)?;
/// let chosen = proxies.for_url("https://vault.example.com/api").unwrap();
/// assert_eq!(chosen.authority(), "proxy.corp:3128");
/// assert!(proxies.for_url("https://vault.internal/api").is_none());
/// assert!(proxies.for_url("http://example.com/").is_none(), "no HTTP_PROXY set");
/// # Ok::<(), syvault_proto::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Proxies {
    http: Option<ProxyUrl>,
    https: Option<ProxyUrl>,
    no_proxy: Vec<NoProxyEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum NoProxyEntry {
    Everything,
    Domain(String),
    Network(IpAddr, u8),
}

impl Proxies {
    /// The proxies of `setting`, reading the environment through `lookup` for
    /// [`ProxySetting::FromEnv`]. An environment variable holding an unusable proxy URL is an
    /// [`Error::InvalidInput`] naming the variable.
    pub fn resolve(
        setting: &ProxySetting,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        match setting {
            ProxySetting::Disabled => Ok(Self::default()),
            ProxySetting::Explicit(proxy) => Ok(Self {
                http: Some(proxy.clone()),
                https: Some(proxy.clone()),
                no_proxy: Vec::new(),
            }),
            ProxySetting::FromEnv => Self::from_env_with(lookup),
        }
    }

    fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let var = |names: [&'static str; 2]| {
            names.into_iter().find_map(|name| {
                lookup(name)
                    .filter(|value| !value.trim().is_empty())
                    .map(|value| (name, value))
            })
        };
        let proxy = |names| {
            var(names)
                .map(|(name, value)| {
                    value.parse::<ProxyUrl>().map_err(|error| match error {
                        Error::InvalidInput { reason, .. } => Error::invalid_input(name, reason),
                        other => other,
                    })
                })
                .transpose()
        };
        let all = proxy(["ALL_PROXY", "all_proxy"])?;
        // Under CGI, a request's `Proxy:` header arrives as `HTTP_PROXY` ("httpoxy"): only the
        // lower-case name, which no header can set, is trusted there.
        let cgi = lookup("REQUEST_METHOD").is_some();
        let http_names = if cgi {
            ["http_proxy", "http_proxy"]
        } else {
            ["HTTP_PROXY", "http_proxy"]
        };
        let http = proxy(http_names)?.or_else(|| all.clone());
        let https = proxy(["HTTPS_PROXY", "https_proxy"])?.or(all);
        let no_proxy = var(["NO_PROXY", "no_proxy"])
            .map(|(_, value)| parse_no_proxy(&value))
            .unwrap_or_default();
        Ok(Self {
            http,
            https,
            no_proxy,
        })
    }

    /// Whether any proxy may be used at all.
    pub fn is_empty(&self) -> bool {
        self.http.is_none() && self.https.is_none()
    }

    /// The proxy for a request to `url`, or `None` to go straight to the server.
    pub fn for_url(&self, url: &str) -> Option<&ProxyUrl> {
        let (scheme, rest) = url.split_once("://")?;
        let proxy = match scheme.to_ascii_lowercase().as_str() {
            "https" => self.https.as_ref()?,
            "http" => self.http.as_ref()?,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let (host, _) = split_host_port(hostport)?;
        (!self.bypasses(&host)).then_some(proxy)
    }

    fn bypasses(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        let ip = host.parse::<IpAddr>().ok();
        self.no_proxy.iter().any(|entry| match (entry, ip) {
            (NoProxyEntry::Everything, _) => true,
            (NoProxyEntry::Network(network, bits), Some(ip)) => in_network(ip, *network, *bits),
            (NoProxyEntry::Domain(domain), None) => {
                host == domain
                    || host
                        .strip_suffix(domain.as_str())
                        .is_some_and(|prefix| prefix.ends_with('.'))
            }
            _ => false,
        })
    }
}

/// Curl's `NO_PROXY`: comma-separated; `*` alone matches everything; an IP address or CIDR
/// network matches addresses; any other entry matches that domain and its subdomains, with or
/// without a leading dot.
fn parse_no_proxy(value: &str) -> Vec<NoProxyEntry> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            if entry == "*" {
                return Some(NoProxyEntry::Everything);
            }
            let bare = entry.trim_start_matches('[');
            let (address, bits) = match bare.split_once('/') {
                Some((address, bits)) => (address, bits.parse::<u8>().ok()),
                None => (bare.split(']').next().unwrap_or(bare), None),
            };
            if let Ok(ip) = address.trim_end_matches(']').parse::<IpAddr>() {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                return Some(NoProxyEntry::Network(ip, bits.unwrap_or(max).min(max)));
            }
            let domain = entry
                .trim_start_matches("*.")
                .trim_start_matches('.')
                .trim_end_matches('.');
            (!domain.is_empty()).then(|| NoProxyEntry::Domain(domain.to_ascii_lowercase()))
        })
        .collect()
}

fn in_network(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn chosen(proxies: &Proxies, url: &str) -> Option<String> {
        proxies.for_url(url).map(ProxyUrl::authority)
    }

    #[test]
    fn the_schemes_own_variable_wins_over_all_proxy() {
        let proxies = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[
                ("ALL_PROXY", "all:1"),
                ("https_proxy", "http://tls:2"),
                ("http_proxy", "plain:3"),
            ]),
        )
        .unwrap();
        assert_eq!(
            chosen(&proxies, "https://v.example/x").as_deref(),
            Some("tls:2")
        );
        assert_eq!(
            chosen(&proxies, "http://v.example/x").as_deref(),
            Some("plain:3")
        );

        let only_all =
            Proxies::resolve(&ProxySetting::FromEnv, env(&[("all_proxy", "all:1")])).unwrap();
        assert_eq!(
            chosen(&only_all, "https://v.example").as_deref(),
            Some("all:1")
        );
        assert_eq!(
            chosen(&only_all, "http://v.example").as_deref(),
            Some("all:1")
        );
    }

    #[test]
    fn upper_case_wins_and_empty_values_count_as_unset() {
        let proxies = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[("HTTPS_PROXY", "upper:1"), ("https_proxy", "lower:2")]),
        )
        .unwrap();
        assert_eq!(
            chosen(&proxies, "https://v.example").as_deref(),
            Some("upper:1")
        );
        let proxies = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[("HTTPS_PROXY", " "), ("https_proxy", "lower:2")]),
        )
        .unwrap();
        assert_eq!(
            chosen(&proxies, "https://v.example").as_deref(),
            Some("lower:2")
        );
        assert!(
            Proxies::resolve(&ProxySetting::FromEnv, env(&[]))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_proxy_for_either_scheme_alone_means_proxies_are_in_use() {
        for name in ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"] {
            let proxies =
                Proxies::resolve(&ProxySetting::FromEnv, env(&[(name, "proxy:3128")])).unwrap();
            assert!(!proxies.is_empty(), "{name}");
        }
        let explicit = ProxySetting::Explicit("proxy:3128".parse().unwrap());
        assert!(!Proxies::resolve(&explicit, env(&[])).unwrap().is_empty());
    }

    #[test]
    fn under_cgi_upper_case_http_proxy_is_ignored() {
        let cgi = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[("REQUEST_METHOD", "GET"), ("HTTP_PROXY", "evil:1")]),
        )
        .unwrap();
        assert_eq!(chosen(&cgi, "http://v.example"), None);
        let trusted = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[
                ("REQUEST_METHOD", "GET"),
                ("HTTP_PROXY", "evil:1"),
                ("http_proxy", "mine:2"),
            ]),
        )
        .unwrap();
        assert_eq!(
            chosen(&trusted, "http://v.example").as_deref(),
            Some("mine:2")
        );
    }

    #[test]
    fn no_proxy_matches_domains_addresses_and_networks() {
        let proxies = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[
                ("HTTPS_PROXY", "proxy:3128"),
                (
                    "NO_PROXY",
                    " .internal, example.com,10.0.0.0/8, ::1 ,127.0.0.1",
                ),
            ]),
        )
        .unwrap();
        for bypassed in [
            "https://vault.internal",
            "https://internal",
            "https://example.com:8443/x",
            "https://api.example.com",
            "https://10.1.2.3",
            "https://127.0.0.1:1234",
            "https://[::1]:8443",
        ] {
            assert_eq!(chosen(&proxies, bypassed), None, "{bypassed}");
        }
        for proxied in [
            "https://notexample.com",
            "https://example.com.evil",
            "https://11.0.0.1",
            "https://127.0.0.2",
            "https://localhost",
        ] {
            assert_eq!(
                chosen(&proxies, proxied).as_deref(),
                Some("proxy:3128"),
                "{proxied}"
            );
        }
        let everything = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[("HTTPS_PROXY", "proxy:3128"), ("no_proxy", "*")]),
        )
        .unwrap();
        assert_eq!(chosen(&everything, "https://vault.example.com"), None);
    }

    #[test]
    fn ipv6_no_proxy_entries_and_ranges_match_only_their_addresses() {
        let proxies = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[
                ("HTTPS_PROXY", "proxy:3128"),
                ("NO_PROXY", "[2001:db8::]/32, fd00::/8, [::2]"),
            ]),
        )
        .unwrap();
        for bypassed in [
            "https://[2001:db8::1]",
            "https://[2001:db8:ffff::5]:8443/x",
            "https://[fd12:3456::1]",
            "https://[::2]:1",
        ] {
            assert_eq!(chosen(&proxies, bypassed), None, "{bypassed}");
        }
        for proxied in [
            "https://[2001:db9::1]",
            "https://[2001:0db7:ffff::1]",
            "https://[fe00::1]",
            "https://[::3]",
            "https://[::1]",
            // An IPv6 range never matches an IPv4 address.
            "https://32.1.13.184",
            "https://253.0.0.1",
        ] {
            assert_eq!(
                chosen(&proxies, proxied).as_deref(),
                Some("proxy:3128"),
                "{proxied}"
            );
        }
        // The whole IPv6 space, and nothing of IPv4.
        let all_v6 = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[("HTTPS_PROXY", "proxy:3128"), ("NO_PROXY", "::/0")]),
        )
        .unwrap();
        assert_eq!(chosen(&all_v6, "https://[2001:db8::1]"), None);
        assert_eq!(
            chosen(&all_v6, "https://10.0.0.1").as_deref(),
            Some("proxy:3128")
        );
    }

    #[test]
    fn a_bracketed_ipv6_proxy_host_takes_the_default_port() {
        for text in [
            "[::1]",
            "http://[::1]",
            "http://[2001:db8::7]/",
            "[2001:DB8::7]",
        ] {
            let proxy: ProxyUrl = text.parse().unwrap();
            assert_eq!(proxy.port(), 80, "{text}");
            assert!(proxy.authority().starts_with('['), "{text}");
            assert!(proxy.authority().ends_with("]:80"), "{text}");
        }
        let proxy: ProxyUrl = "[2001:DB8::7]".parse().unwrap();
        assert_eq!(proxy.host(), "2001:db8::7");
        assert_eq!(proxy.authority(), "[2001:db8::7]:80");
        for bad in [
            "[::1",
            "[::1]x",
            "[::1]:",
            "[::1]:99999",
            "[not-v6]",
            "[]",
            "[::1]:8080:1",
        ] {
            assert!(bad.parse::<ProxyUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn explicit_and_disabled_ignore_the_environment() {
        let env = env(&[("HTTPS_PROXY", "env:1"), ("NO_PROXY", "*")]);
        let explicit = ProxySetting::Explicit("http://mine:2".parse().unwrap());
        let proxies = Proxies::resolve(&explicit, &env).unwrap();
        assert_eq!(
            chosen(&proxies, "https://v.example").as_deref(),
            Some("mine:2")
        );
        assert_eq!(
            chosen(&proxies, "http://127.0.0.1:80").as_deref(),
            Some("mine:2")
        );
        let none = Proxies::resolve(&ProxySetting::Disabled, &env).unwrap();
        assert!(none.is_empty());
        assert_eq!(chosen(&none, "https://v.example"), None);
    }

    #[test]
    fn proxy_urls_parse_with_credentials_and_refuse_the_rest() {
        let proxy: ProxyUrl = "HTTP://u%20ser:pa%3Ass@[::1]:8080/".parse().unwrap();
        assert_eq!(proxy.authority(), "[::1]:8080");
        assert_eq!(proxy.username(), Some("u ser"));
        assert_eq!(proxy.password().unwrap().expose(), "pa:ss");
        assert_eq!(
            proxy.basic_authorization().unwrap().expose(),
            "Basic dSBzZXI6cGE6c3M="
        );
        let bare: ProxyUrl = "proxy.corp".parse().unwrap();
        assert_eq!(
            (bare.url().as_str(), bare.port()),
            ("http://proxy.corp:80", 80)
        );
        assert!(bare.basic_authorization().is_none());

        for bad in [
            "https://proxy:1",
            "socks5://proxy:1",
            "http://user:secret-pw@proxy:99999",
            "http://proxy:1/path",
            "http://",
            "http://user:%zz@proxy",
        ] {
            let error = bad.parse::<ProxyUrl>().unwrap_err();
            let text = format!("{error} {error:?}");
            assert!(!text.contains("secret-pw"), "{text}");
            assert!(matches!(
                error,
                Error::InvalidInput {
                    what: "proxy URL",
                    ..
                }
            ));
        }
        let error = Proxies::resolve(
            &ProxySetting::FromEnv,
            env(&[("https_proxy", "socks5://user:secret-pw@x")]),
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidInput {
                    what: "https_proxy",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(!format!("{error} {error:?}").contains("secret-pw"));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let proxy: ProxyUrl = "http://user:hunter2@proxy:1".parse().unwrap();
        let setting = ProxySetting::Explicit(proxy.clone());
        for text in [format!("{proxy:?}"), format!("{setting:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains("user"), "{text}");
        }
        assert!(!format!("{:?}", proxy.basic_authorization()).contains("Basic"));
    }
}
