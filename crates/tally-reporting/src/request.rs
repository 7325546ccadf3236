//! The parameters of one API call.
//!
//! Matomo reads `$_GET + $_POST`: a parameter in the query string wins over
//! the same name in the form body. The token's origin matters (tokens
//! flagged `secure_only` are only accepted from the body), so each value
//! remembers where it came from.

use tally_tracking::php::urldecode;

/// The parameters of one API call, in request order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiRequest {
    params: Vec<Param>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Param {
    name: String,
    value: String,
    from_body: bool,
}

impl ApiRequest {
    /// Parses a query string and an optional form-encoded body.
    pub fn from_parts(query: &str, body: Option<&str>) -> Self {
        let mut request = Self::default();
        request.push_encoded(query, false);
        if let Some(body) = body {
            request.push_encoded(body, true);
        }
        request
    }

    /// A request from already decoded pairs (tests, bulk sub-requests).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            params: pairs
                .into_iter()
                .map(|(name, value)| Param {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    from_body: false,
                })
                .collect(),
        }
    }

    fn push_encoded(&mut self, encoded: &str, from_body: bool) {
        for part in encoded.split('&').filter(|part| !part.is_empty()) {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            self.params.push(Param {
                name: urldecode(name),
                value: urldecode(value),
                from_body,
            });
        }
    }

    /// This request without `name` (a method answering through another
    /// with one parameter fewer, as Matomo's internal sub-requests).
    pub(crate) fn without(&self, name: &str) -> Self {
        Self {
            params: self
                .params
                .iter()
                .filter(|param| param.name != name)
                .cloned()
                .collect(),
        }
    }

    /// The value of `name`: the query string's if present, else the body's.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.param(name).map(|param| param.value.as_str())
    }

    /// The query string is pushed before the body, so the first match is
    /// the query string's when both have the name.
    fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|param| param.name == name)
    }

    /// A non-empty value of `name`.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// Every value of `name` (for `label[]`, `urls[0]`…).
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.params
            .iter()
            .filter(move |param| param.name == name)
            .map(|param| param.value.as_str())
    }

    /// Every pair, in request order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params
            .iter()
            .map(|param| (param.name.as_str(), param.value.as_str()))
    }

    /// `token_auth` and whether it came from the form body.
    pub fn token(&self) -> Option<(&str, bool)> {
        self.param("token_auth")
            .map(|param| (param.value.as_str(), param.from_body))
    }

    /// Sets `name` to `value`, replacing every earlier value.
    pub fn set(&mut self, name: &str, value: &str) {
        self.params.retain(|param| param.name != name);
        self.params.push(Param {
            name: name.to_owned(),
            value: value.to_owned(),
            from_body: false,
        });
    }

    /// Adds `name` unless the request already has it (bulk sub-requests
    /// inherit the outer `token_auth` this way).
    pub fn inherit(&mut self, name: &str, value: &str, from_body: bool) {
        if self.param(name).is_none() {
            self.params.push(Param {
                name: name.to_owned(),
                value: value.to_owned(),
                from_body,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_wins_over_the_body_and_the_token_remembers_its_origin() {
        let request = ApiRequest::from_parts(
            "method=VisitsSummary.get&idSite=1",
            Some("idSite=2&token_auth=abc&label%5B%5D=a+b&label%5B%5D=c"),
        );
        assert_eq!(request.get("idSite"), Some("1"));
        assert_eq!(request.token(), Some(("abc", true)));
        assert_eq!(request.all("label[]").collect::<Vec<_>>(), vec!["a b", "c"]);
        let get_token = ApiRequest::from_parts("token_auth=xyz", None);
        assert_eq!(get_token.token(), Some(("xyz", false)));
    }
}
