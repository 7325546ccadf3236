//! Matomo's fixture `ManySitesImportedLogs` imported with our log importer
//! as the fixture's `import_logs.py` runs do: site 1 ("Piwik test", an
//! ecommerce site with goal 1 "url contains http", revenue 5), sites 2 and
//! 3, full IPs kept; the plain, enable-all,
//! replayed (twice, the second time into site 3), custom-regex logs, the
//! optional ones the test class switches on ([`Includes`]) and the
//! include/exclude-filter logs.
//!
//! The log files are Matomo's (`tests/resources/access-logs/`), read from
//! the directory `MATOMO_ACCESS_LOGS` names rather than copied here, so the
//! tests that use it are opt-in (`#[ignore]`); without the variable they
//! fail.

use tally_logimport::{ImportOptions, LogFormat, SiteSelection, UserRegex};
use tally_management::{GoalParams, NewSiteParams, Principal};
use tally_reporting::Api;
use time::macros::datetime;

use crate::common::{matomo_site, reporting_api};
use crate::matomo_segments_dates_fixture::keep_full_ips;

/// The fixture's optional imports (its `include*` switches).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Includes {
    /// `includeIisWithCustom`: the IIS log with mapped W3C fields.
    pub(crate) iis_with_custom: bool,
    /// `includeNetscaler`.
    pub(crate) netscaler: bool,
    /// `includeCloudfront`.
    pub(crate) cloudfront: bool,
    /// `includeCloudfrontRtmp`.
    pub(crate) cloudfront_rtmp: bool,
    /// `includeNginxJson`: no site id, sites found by host.
    pub(crate) nginx_json: bool,
    /// `includeApiCustomVarMapping`: the IIS log again, its fields tracked
    /// as custom variables.
    pub(crate) api_custom_var_mapping: bool,
}

impl Includes {
    /// Every optional import, as `ImportLogsTest` sets them.
    pub(crate) fn all() -> Self {
        Self {
            iis_with_custom: true,
            netscaler: true,
            cloudfront: true,
            cloudfront_rtmp: true,
            nginx_json: true,
            api_custom_var_mapping: true,
        }
    }
}

/// `Date` in UTC, as the importer's `--exclude-older-than` takes it.
fn utc(text: &str) -> anyhow::Result<time::OffsetDateTime> {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    Ok(time::PrimitiveDateTime::parse(text, format)?.assume_utc())
}

/// The imported fixture: its database, the API on it, a super user's
/// token and the lines tracked by each import, in the fixture's order.
pub(crate) struct ImportedLogs {
    /// Kept for its lifetime: the test database is dropped with it.
    pub(crate) _db: tally_db::test_support::TestDb,
    pub(crate) api: Api,
    pub(crate) token: String,
    pub(crate) imported: Vec<(&'static str, u64)>,
}

/// The fixture's IIS import (`logIisWithCustomFormat`), its fields mapped
/// to custom variables when `to_cvars`.
fn iis(to_cvars: bool) -> ImportOptions {
    let mut opts = ImportOptions {
        site: SiteSelection::Id(1),
        recorders: 1,
        w3c_map_fields: [
            ("date-local", "date"),
            ("time-local", "time"),
            ("cs(Host)", "cs-host"),
            ("TimeTakenMS", "time-taken"),
        ]
        .map(|(custom, known)| (custom.to_owned(), known.to_owned()))
        .to_vec(),
        ..ImportOptions::default()
    };
    opts.filters.enable_http_errors = true;
    opts.filters.enable_http_redirects = true;
    if to_cvars {
        opts.regex_group_to_visit_cvars = vec![("userid".to_owned(), "User Name".to_owned())];
        opts.regex_group_to_page_cvars = vec![
            (
                "generation_time_milli".to_owned(),
                "Generation Time".to_owned(),
            ),
            ("win32_status".to_owned(), "Windows Status Code".to_owned()),
        ];
        opts.ignore_groups = vec!["userid".to_owned()];
        opts.w3c_field_regexes = vec![(
            "sc-win32-status".to_owned(),
            r"(?P<win32_status>\S+)".to_owned(),
        )];
        opts.w3c_time_taken_millisecs = true;
    }
    opts
}

/// The fixture's sites and imports.
pub(crate) async fn imported_logs(includes: Includes) -> anyhow::Result<ImportedLogs> {
    let dir = std::env::var("MATOMO_ACCESS_LOGS").map_err(|_| {
        anyhow::anyhow!("MATOMO_ACCESS_LOGS must name Matomo's tests/resources/access-logs")
    })?;
    let goal = GoalParams {
        revenue: 5.0,
        ..GoalParams::new("all", "url", "http", "contains")
    };
    let created = datetime!(2012-08-09 11:22:33);
    // `createWebsite($dateTime, 1)`: site 1 is an ecommerce site.
    let (db, token) = matomo_site(created, |site| site.ecommerce = Some(true), &[goal])?;
    {
        let mut conn = db.conn()?;
        let root = Principal::super_user("test");
        for (name, url) in [
            ("Piwik test two", "http://example-site-two.com"),
            ("Piwik test three", "http://example-site-three.com"),
        ] {
            let params = NewSiteParams {
                timezone: Some("UTC".to_owned()),
                start_date: Some(created),
                ..NewSiteParams::new(name, [url])
            };
            tally_management::add_site(&mut conn, &root, &params)?;
        }
    }
    // Matomo's system tests keep full IPs (its expected visitor logs show
    // them); our tracker anonymizes by default.
    keep_full_ips(&db)?;
    let pool = db.pool()?;
    let work = std::env::temp_dir().join(format!(
        "tally-imported-logs-{}-{}",
        std::process::id(),
        db.name()
    ));
    std::fs::create_dir_all(&work)?;
    // Each import gets its own copy: a file whose content was imported
    // once is skipped, and the fixture imports some logs twice.
    let mut copies = 0;
    let mut imported = Vec::new();
    let mut import = |file: &'static str, opts: ImportOptions| -> anyhow::Result<()> {
        copies += 1;
        let mut text = std::fs::read(format!("{dir}/{file}"))?;
        text.extend_from_slice(format!("\n# copy {copies}\n").as_bytes());
        let path = work.join(format!("{copies}-{file}"));
        std::fs::write(&path, text)?;
        let report = tally_logimport::import_files(&pool, &[path], &opts, &mut |_| {})?;
        imported.push((file, report.files[0].counts.imported));
        Ok(())
    };
    let site1 = || ImportOptions {
        site: SiteSelection::Id(1),
        recorders: 1,
        ..ImportOptions::default()
    };
    import("fake_logs.log", site1())?;
    let mut all = site1();
    all.filters.enable_static = true;
    all.filters.enable_bots = true;
    all.filters.enable_http_errors = true;
    all.filters.enable_http_redirects = true;
    all.filters.force_lowercase_path = true;
    import("fake_logs_enable_all.log", all)?;
    let replay = |site: SiteSelection| -> anyhow::Result<ImportOptions> {
        Ok(ImportOptions {
            site,
            recorders: 1,
            replay_tracking: true,
            exclude_older_than: Some(utc("2012-01-01 08:10:39")?),
            exclude_hosts: vec!["excluded.com".to_owned()],
            ..ImportOptions::default()
        })
    };
    for site in [
        SiteSelection::ByHost {
            add_new_hosts: false,
            fallback: None,
        },
        SiteSelection::Id(3),
    ] {
        import("fake_logs_replay.log", replay(site.clone())?)?;
        import("fake_logs_replay_host.log", replay(site)?)?;
    }
    let custom = ImportOptions {
        format: Some(LogFormat::Regex(UserRegex::new(
            r#"(?P<ip>\S+) - - \[(?P<date>.*?) (?P<timezone>.*?)\] (?P<status>\S+) "\S+ (?P<path>.*?) \S+" (?P<generation_time_micro>\S+)"#,
            None,
        )?)),
        ..site1()
    };
    import("fake_logs_custom.log", custom)?;
    if includes.iis_with_custom {
        import("fake_logs_custom_iis.log", iis(false))?;
    }
    if includes.netscaler {
        let mut netscaler = site1();
        netscaler.filters.enable_http_redirects = true;
        import("fake_logs_netscaler.log", netscaler)?;
    }
    if includes.cloudfront {
        import("fake_logs_cloudfront.log", site1())?;
    }
    if includes.cloudfront_rtmp {
        import("fake_logs_cloudfront_rtmp.log", site1())?;
    }
    if includes.nginx_json {
        import(
            "fake_logs_nginx_json.log",
            ImportOptions {
                recorders: 1,
                ..ImportOptions::default()
            },
        )?;
    }
    if includes.api_custom_var_mapping {
        import("fake_logs_custom_iis.log", iis(true))?;
    }
    import(
        "filter_include_logs.log",
        ImportOptions {
            include_hosts: vec!["included3.com".to_owned(), "www.included4.com".to_owned()],
            ..site1()
        },
    )?;
    import(
        "filter_exclude_logs.log",
        ImportOptions {
            exclude_hosts: vec!["filtered1.com".to_owned(), "www.filtered2.com".to_owned()],
            exclude_older_than: Some(utc("2012-08-09 08:10:39")?),
            exclude_newer_than: Some(utc("2012-08-31 00:00:00")?),
            ..site1()
        },
    )?;
    std::fs::remove_dir_all(&work)?;
    let api = reporting_api(&db)?;
    Ok(ImportedLogs {
        _db: db,
        api,
        token,
        imported,
    })
}
