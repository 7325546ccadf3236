//! Loading a process's config: one TOML file, then `TALLY_<SECTION>_<KEY>`
//! environment overrides, into a typed struct.
//!
//! Every binary defines its own config struct out of the area structs
//! ([`crate::DatabaseConfig`] and others) and calls [`load`] once in `main`.
//! It lives here, in the lowest crate every binary depends on, so that all
//! binaries read config the same way.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The environment variable naming the config file.
pub const CONFIG_ENV: &str = "TALLY_CONFIG";
const ENV_PREFIX: &str = "TALLY_";

/// Errors from reading a config file or its environment overrides.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file named explicitly could not be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a value of the wrong type.
    #[error("{origin} line {line}: {message}")]
    Invalid {
        /// The file name (or `config` for in-memory text).
        origin: String,
        /// 1-based line of the offending key or value (0 when unknown).
        line: usize,
        /// What is wrong, in toml's words.
        message: String,
    },
    /// A `TALLY_*` variable that names no config key.
    #[error("environment variable {var} names no config key (known: {known})")]
    UnknownEnv {
        /// The variable.
        var: String,
        /// The variables that would be accepted.
        known: String,
    },
    /// A `TALLY_*` variable whose value does not fit its key.
    #[error("environment variable {var}: {message}")]
    InvalidEnv {
        /// The variable.
        var: String,
        /// What is wrong.
        message: String,
    },
}

/// Loads `C` from `path` (or `tally.toml` in the current directory if it
/// exists) and the process environment.
///
/// With `path = None` a missing `tally.toml` is fine (defaults apply); a path
/// given explicitly must exist.
///
/// # Errors
/// [`ConfigError`] naming the file line or the environment variable at fault.
pub fn load<C>(path: Option<&Path>) -> Result<C, ConfigError>
where
    C: Serialize + DeserializeOwned + Default,
{
    let (origin, text) = match path {
        Some(path) => (
            path.display().to_string(),
            Some(
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?,
            ),
        ),
        None => {
            let default = Path::new("tally.toml");
            match std::fs::read_to_string(default) {
                Ok(text) => ("tally.toml".to_owned(), Some(text)),
                Err(_) => ("tally.toml".to_owned(), None),
            }
        }
    };
    load_from(&origin, text.as_deref(), std::env::vars())
}

/// Loads `C` from TOML text (if any) and the given environment, without
/// touching the process: the testable core of [`load`].
///
/// # Errors
/// See [`load`].
pub fn load_from<C>(
    origin: &str,
    text: Option<&str>,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<C, ConfigError>
where
    C: Serialize + DeserializeOwned + Default,
{
    let mut table = match text {
        Some(text) => {
            // Deserialize the file alone first: toml then reports the line of
            // an unknown key or a mistyped value.
            toml::from_str::<C>(text).map_err(|err| invalid(origin, text, &err))?;
            toml::from_str::<toml::Table>(text).map_err(|err| invalid(origin, text, &err))?
        }
        None => toml::Table::new(),
    };

    let defaults = match toml::Value::try_from(C::default()) {
        Ok(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    let mut overrides: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && k != CONFIG_ENV)
        .collect();
    overrides.sort();
    // Keys whose default is `None` are absent from `defaults` (TOML has no
    // null): a key is also known when the config type accepts a string
    // under it, which `deny_unknown_fields` refuses for any other name.
    let optional_key = |section: &str, key: &str| {
        let mut probe = defaults.clone();
        match probe.get_mut(section) {
            Some(toml::Value::Table(s)) => {
                s.insert(key.to_owned(), toml::Value::String(String::new()));
            }
            _ => return false,
        }
        toml::Value::Table(probe).try_into::<C>().is_ok()
    };
    for (var, value) in overrides {
        apply_env(&mut table, &defaults, &optional_key, &var, &value)?;
    }

    toml::Value::Table(table)
        .try_into::<C>()
        .map_err(|err| ConfigError::Invalid {
            origin: format!("{origin} with TALLY_* overrides"),
            line: 0,
            message: err.message().to_owned(),
        })
}

fn invalid(origin: &str, text: &str, err: &toml::de::Error) -> ConfigError {
    let line = err
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1)
        .unwrap_or(0);
    ConfigError::Invalid {
        origin: origin.to_owned(),
        line,
        message: err.message().trim().replace('\n', " "),
    }
}

/// Places one `TALLY_SECTION_KEY=value` into the table, typed like the
/// default value of that key.
fn apply_env(
    table: &mut toml::Table,
    defaults: &toml::Table,
    optional_key: &dyn Fn(&str, &str) -> bool,
    var: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let rest = var[ENV_PREFIX.len()..].to_ascii_lowercase();
    // Section names may contain `_` (`database_reader`): take the longest
    // section that prefixes the variable.
    let mut best: Option<(&str, &str)> = None;
    for (name, value) in defaults {
        let toml::Value::Table(section) = value else {
            continue;
        };
        let Some(key) = rest
            .strip_prefix(name.as_str())
            .and_then(|r| r.strip_prefix('_'))
        else {
            continue;
        };
        // An empty default section belongs to another binary: this one
        // passes its keys through without knowing them.
        let known = section.contains_key(key) || section.is_empty() || optional_key(name, key);
        if known && best.is_none_or(|(b, _)| name.len() > b.len()) {
            best = Some((name.as_str(), key));
        }
    }
    let (target, default) = match best {
        Some((section, key)) => {
            let entry = table
                .entry(section.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(section_table) = entry else {
                return Err(ConfigError::InvalidEnv {
                    var: var.to_owned(),
                    message: format!("`{section}` in the config file is not a table"),
                });
            };
            (
                (section_table, key.to_owned()),
                defaults.get(section).and_then(|s| s.get(key)),
            )
        }
        None if defaults.get(&rest).is_some_and(|v| !v.is_table()) => {
            ((&mut *table, rest.clone()), defaults.get(&rest))
        }
        None => {
            return Err(ConfigError::UnknownEnv {
                var: var.to_owned(),
                known: known_vars(defaults).join(", "),
            });
        }
    };
    let parsed = typed_like(default, value).map_err(|message| ConfigError::InvalidEnv {
        var: var.to_owned(),
        message,
    })?;
    let (dest, key) = target;
    dest.insert(key, parsed);
    Ok(())
}

fn typed_like(default: Option<&toml::Value>, raw: &str) -> Result<toml::Value, String> {
    use toml::Value;
    Ok(match default {
        Some(Value::String(_)) | None => Value::String(raw.to_owned()),
        Some(Value::Integer(_)) => Value::Integer(
            raw.trim()
                .parse()
                .map_err(|_| format!("expected an integer, got `{raw}`"))?,
        ),
        Some(Value::Float(_)) => Value::Float(
            raw.trim()
                .parse()
                .map_err(|_| format!("expected a number, got `{raw}`"))?,
        ),
        Some(Value::Boolean(_)) => Value::Boolean(match raw.trim() {
            "1" | "true" | "yes" | "on" => true,
            "0" | "false" | "no" | "off" => false,
            _ => return Err(format!("expected true or false, got `{raw}`")),
        }),
        Some(Value::Array(_)) => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_owned()))
                .collect(),
        ),
        Some(other) => {
            return Err(format!(
                "cannot set a {} from the environment",
                other.type_str()
            ));
        }
    })
}

fn known_vars(defaults: &toml::Table) -> Vec<String> {
    let mut vars = Vec::new();
    for (name, value) in defaults {
        match value {
            toml::Value::Table(section) => {
                for key in section.keys() {
                    vars.push(format!("{ENV_PREFIX}{}_{}", name, key).to_ascii_uppercase());
                }
            }
            _ => vars.push(format!("{ENV_PREFIX}{name}").to_ascii_uppercase()),
        }
    }
    vars
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::DatabaseConfig;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct TestConfig {
        database: DatabaseConfig,
        database_reader: DatabaseConfig,
        verbose: bool,
        extras: Extras,
    }

    /// A section with keys whose default is `None`.
    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Extras {
        geoip_database: Option<String>,
        workers: u32,
    }

    #[test]
    fn env_sets_keys_whose_default_is_none() {
        let c: TestConfig = load_from(
            "t.toml",
            None,
            env(&[("TALLY_EXTRAS_GEOIP_DATABASE", "/var/lib/geo.mmdb")]),
        )
        .unwrap();
        assert_eq!(
            c.extras.geoip_database.as_deref(),
            Some("/var/lib/geo.mmdb")
        );
        let err = load_from::<TestConfig>("t.toml", None, env(&[("TALLY_EXTRAS_GEOIP_DB", "x")]))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("TALLY_EXTRAS_GEOIP_DB names no config key"),
            "{err}"
        );
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_without_file_or_env() {
        let c: TestConfig = load_from("t.toml", None, env(&[])).unwrap();
        assert_eq!(c, TestConfig::default());
    }

    #[test]
    fn env_overrides_file() {
        let text = "[database]\nurl = \"mysql://a@h/one\"\npool_size = 3\n";
        let c: TestConfig = load_from(
            "t.toml",
            Some(text),
            env(&[
                ("TALLY_DATABASE_URL", "mysql://b@h/two"),
                ("TALLY_DATABASE_READER_POOL_SIZE", "7"),
                ("TALLY_VERBOSE", "1"),
                ("PATH", "/bin"),
                ("TALLY_CONFIG", "ignored.toml"),
            ]),
        )
        .unwrap();
        assert_eq!(c.database.url, "mysql://b@h/two");
        assert_eq!(c.database.pool_size, 3);
        assert_eq!(c.database_reader.pool_size, 7);
        assert!(c.verbose);
    }

    #[test]
    fn unknown_file_key_names_line_and_key() {
        let text = "[database]\nurl = \"mysql://a@h/one\"\npool_sze = 3\n";
        let err = load_from::<TestConfig>("t.toml", Some(text), env(&[])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("t.toml line 3: unknown field `pool_sze`"),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
    }

    #[test]
    fn unknown_env_var_is_named() {
        let err = load_from::<TestConfig>("t.toml", None, env(&[("TALLY_DATABASE_PORT", "1")]))
            .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("TALLY_DATABASE_PORT names no config key"),
            "{msg}"
        );
        assert!(msg.contains("TALLY_DATABASE_URL"), "{msg}");
    }

    #[test]
    fn mistyped_env_value_is_named() {
        let err =
            load_from::<TestConfig>("t.toml", None, env(&[("TALLY_DATABASE_POOL_SIZE", "many")]))
                .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable TALLY_DATABASE_POOL_SIZE: expected an integer, got `many`"
        );
    }

    #[test]
    fn invalid_toml_is_one_line() {
        let err =
            load_from::<TestConfig>("t.toml", Some("[database\nurl=1"), env(&[])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("t.toml line 1:"), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
