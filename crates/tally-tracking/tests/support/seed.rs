//! Rows the end-to-end tests start from: a site and a super user whose
//! token may write to it.

use diesel::prelude::*;
use tally_tracking::site::{hash_token, instance_salt};

/// Site 1, in UTC, without ecommerce: `name` at `url`, created at
/// `created` (`YYYY-MM-DD HH:MM:SS`), reporting in `currency`.
pub(crate) fn site(
    conn: &mut MysqlConnection,
    name: &str,
    url: &str,
    created: &str,
    currency: &str,
) -> anyhow::Result<()> {
    use diesel::sql_types::Text;
    diesel::sql_query(
        "INSERT INTO site (idsite, name, main_url, ts_created, ecommerce, sitesearch, \
         sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, \
         excluded_ips, excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) \
         VALUES (1, ?, ?, ?, 0, 1, '', '', 'UTC', ?, '', '', '', '', '', 'website')",
    )
    .bind::<Text, _>(name)
    .bind::<Text, _>(url)
    .bind::<Text, _>(created)
    .bind::<Text, _>(currency)
    .execute(conn)?;
    Ok(())
}

/// A super user `login` authenticated by `token`.
pub(crate) fn super_user(
    conn: &mut MysqlConnection,
    login: &str,
    token: &str,
) -> anyhow::Result<()> {
    use diesel::sql_types::Text;
    let salt = instance_salt(conn)?;
    diesel::sql_query(
        "INSERT INTO user (login, password, email, superuser_access) VALUES (?, 'x', ?, 1)",
    )
    .bind::<Text, _>(login)
    .bind::<Text, _>(format!("{login}@example.org"))
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO user_token_auth (login, description, password, hash_algo, date_created) \
         VALUES (?, 'test', ?, 'sha512', NOW())",
    )
    .bind::<Text, _>(login)
    .bind::<Text, _>(hash_token(token, &salt))
    .execute(conn)?;
    Ok(())
}
