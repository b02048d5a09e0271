//! Redirect targets (`redirectTo`, `AUTH_CLIENT_URL`), written back as they were given.

use std::fmt;

use url::{Position, Url};

/// A parsed redirect URL that prints without the `/` `url::Url` adds to an empty path, as
/// Nhost's Go `url.URL` prints it: `http://localhost:3000` stays `http://localhost:3000`, and
/// with a query set, `http://localhost:3000?refreshToken=…`. (Other spellings follow `Url`: a
/// host in capitals or a default port written out are normalised.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUrl {
    url: Url,
    /// The text had no path: nothing, or `?`/`#`, after the host.
    bare: bool,
}

impl RedirectUrl {
    /// `None` when the text is not an absolute URL.
    pub fn parse(text: &str) -> Option<Self> {
        let url = Url::parse(text).ok()?;
        let bare = text.split_once("://").is_some_and(|(_, rest)| {
            let after_host = rest.chars().find(|c| matches!(c, '/' | '\\' | '?' | '#'));
            !matches!(after_host, Some('/' | '\\'))
        });
        Some(RedirectUrl { url, bare })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// For setting query parameters; the path must stay as it is.
    pub fn url_mut(&mut self) -> &mut Url {
        &mut self.url
    }
}

impl fmt::Display for RedirectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bare && self.url.path() == "/" {
            f.write_str(&self.url[..Position::BeforePath])?;
            f.write_str(&self.url[Position::AfterPath..])
        } else {
            f.write_str(self.url.as_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_given() {
        for (given, printed) in [
            ("http://localhost:3000", "http://localhost:3000"),
            ("http://localhost:3000/", "http://localhost:3000/"),
            ("https://app.test/cb", "https://app.test/cb"),
            ("https://app.test?x=1", "https://app.test?x=1"),
            ("https://app.test#frag", "https://app.test#frag"),
            ("https://app.test/?x=1", "https://app.test/?x=1"),
            ("myapp://callback", "myapp://callback"),
            ("https://user@app.test", "https://user@app.test"),
        ] {
            assert_eq!(RedirectUrl::parse(given).unwrap().to_string(), printed);
        }
        assert!(RedirectUrl::parse("not a url").is_none());
    }

    #[test]
    fn a_query_set_later_keeps_the_empty_path() {
        let mut url = RedirectUrl::parse("http://localhost:3000").unwrap();
        url.url_mut()
            .query_pairs_mut()
            .append_pair("type", "verifyEmail");
        assert_eq!(url.to_string(), "http://localhost:3000?type=verifyEmail");
    }
}
