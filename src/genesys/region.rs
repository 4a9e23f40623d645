//! The 17 Genesys Cloud regions (genesys-api.md §6), by SDK key or by domain.

use std::fmt;

/// (SDK key, domain). The API base is `https://api.<domain>`, the login base `https://login.<domain>`.
pub const REGIONS: [(&str, &str); 17] = [
    ("us_east_1", "mypurecloud.com"),
    ("eu_west_1", "mypurecloud.ie"),
    ("ap_southeast_2", "mypurecloud.com.au"),
    ("ap_northeast_1", "mypurecloud.jp"),
    ("eu_central_1", "mypurecloud.de"),
    ("us_west_2", "usw2.pure.cloud"),
    ("ca_central_1", "cac1.pure.cloud"),
    ("ap_northeast_2", "apne2.pure.cloud"),
    ("eu_west_2", "euw2.pure.cloud"),
    ("ap_south_1", "aps1.pure.cloud"),
    ("us_east_2", "use2.us-gov-pure.cloud"),
    ("sa_east_1", "sae1.pure.cloud"),
    ("me_central_1", "mec1.pure.cloud"),
    ("ap_northeast_3", "apne3.pure.cloud"),
    ("eu_central_2", "euc2.pure.cloud"),
    ("mx_central_1", "mxc1.pure.cloud"),
    ("ap_southeast_1", "apse1.pure.cloud"),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    pub key: &'static str,
    pub domain: &'static str,
}

impl Default for Region {
    /// `us_east_1`, the SDKs' default base path.
    fn default() -> Self {
        Region { key: REGIONS[0].0, domain: REGIONS[0].1 }
    }
}

impl Region {
    /// Accepts a key (`eu_west_1`, `eu-west-1`), a domain (`mypurecloud.ie`) or an API/login host
    /// or URL (`api.mypurecloud.ie`, `https://login.mypurecloud.ie`).
    pub fn parse(input: &str) -> Result<Region, UnknownRegion> {
        let s = input.trim().to_ascii_lowercase();
        let s = s.strip_prefix("https://").unwrap_or(&s).trim_end_matches('/');
        let host = s.strip_prefix("api.").or_else(|| s.strip_prefix("login.")).unwrap_or(s);
        let key = host.replace('-', "_");
        REGIONS
            .iter()
            .find(|(k, d)| *k == key || *d == host)
            .map(|&(key, domain)| Region { key, domain })
            .ok_or_else(|| UnknownRegion(input.to_string()))
    }

    pub fn api_base(&self) -> String {
        format!("https://api.{}", self.domain)
    }

    pub fn login_base(&self) -> String {
        format!("https://login.{}", self.domain)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.key, self.domain)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRegion(pub String);

impl fmt::Display for UnknownRegion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "unknown Genesys Cloud region `{}`; valid regions (key or domain):", self.0)?;
        for (k, d) in REGIONS {
            writeln!(f, "  {k:<16} {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownRegion {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_keys_domains_and_hosts() {
        for input in [
            "eu_west_1",
            "EU-WEST-1",
            "mypurecloud.ie",
            "api.mypurecloud.ie",
            "https://login.mypurecloud.ie/",
        ] {
            let r = Region::parse(input).unwrap();
            assert_eq!(r.key, "eu_west_1", "{input}");
            assert_eq!(r.api_base(), "https://api.mypurecloud.ie");
            assert_eq!(r.login_base(), "https://login.mypurecloud.ie");
        }
        assert_eq!(Region::parse("us-gov").ok(), None);
    }

    #[test]
    fn unknown_region_lists_all_valid_ones() {
        let msg = Region::parse("mars_north_1").unwrap_err().to_string();
        assert!(msg.contains("mars_north_1"));
        for (k, d) in REGIONS {
            assert!(msg.contains(k) && msg.contains(d), "{k} missing");
        }
        let keys: std::collections::HashSet<_> = REGIONS.iter().map(|r| r.0).collect();
        assert_eq!(keys.len(), 17);
    }
}
