//! `FANOUT_LEDGER_TABLE`: the delivery ledger turned on by the environment
//! (the SAM template's `DeliveryLedger` parameter), over the config.

use super::config::{table_name_problem, LedgerConfig};
use crate::config::{Config, ConfigError};
use std::ffi::OsString;

/// The variable that turns the ledger on at a table, over the config's
/// `ledger.table` (the SAM template sets it to the table it creates when
/// `DeliveryLedger` is `Enabled`); the config's `ttl_hours` still applies.
/// Unset or blank: the config decides.
pub const LEDGER_TABLE_ENV: &str = "FANOUT_LEDGER_TABLE";

/// The table [`LEDGER_TABLE_ENV`] names, read through `lookup`: `None` when
/// unset or blank, an error naming the variable when it is not a table name.
pub fn table_from_vars(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Option<String>, ConfigError> {
    let Some(value) = lookup(LEDGER_TABLE_ENV) else { return Ok(None) };
    let value = value.to_string_lossy();
    let table = value.trim();
    if table.is_empty() {
        return Ok(None);
    }
    match table_name_problem(table) {
        Some(problem) => Err(ConfigError::Env { var: LEDGER_TABLE_ENV, problem }),
        None => Ok(Some(table.to_owned())),
    }
}

/// Turn `config`'s ledger on at `table` (a name [`table_from_vars`]
/// checked), keeping its `ttl_hours` when it has a `ledger:` section.
pub fn use_table(config: &mut Config, table: &str) {
    match &mut config.ledger {
        Some(ledger) => ledger.table = table.to_owned(),
        None => config.ledger = Some(LedgerConfig { table: table.to_owned(), ttl_hours: None }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn vars(value: &str) -> impl Fn(&str) -> Option<OsString> + '_ {
        move |name| (name == LEDGER_TABLE_ENV).then(|| OsString::from(value))
    }

    #[test]
    fn the_variable_names_a_table_or_nothing_when_blank() {
        assert_eq!(table_from_vars(vars(" fanout-ledger ")).ok().flatten().as_deref(), Some("fanout-ledger"));
        assert_eq!(table_from_vars(vars("  ")).ok().flatten(), None);
        assert_eq!(table_from_vars(|_| None).ok().flatten(), None);
        match table_from_vars(vars("no/slashes")) {
            Err(ConfigError::Env { var, problem }) => {
                assert_eq!(var, LEDGER_TABLE_ENV);
                assert!(problem.contains("`no/slashes` is not a DynamoDB table name"), "{problem}");
            }
            other => panic!("expected an error naming the variable, got {other:?}"),
        }
    }

    #[test]
    fn the_table_turns_the_ledger_on_and_keeps_the_configs_ttl() {
        let plain = "destinations: { a: { type: firehose, delivery_stream: s } }\n";
        let mut config = Config::parse(plain, Path::new("t.yaml")).expect("valid");
        use_table(&mut config, "from-env");
        assert_eq!(config.ledger, Some(LedgerConfig { table: "from-env".into(), ttl_hours: None }));

        let with_ttl = format!("{plain}ledger: {{ table: in-config, ttl_hours: 48 }}\n");
        let mut config = Config::parse(&with_ttl, Path::new("t.yaml")).expect("valid");
        use_table(&mut config, "from-env");
        assert_eq!(config.ledger, Some(LedgerConfig { table: "from-env".into(), ttl_hours: Some(48) }));
    }
}
