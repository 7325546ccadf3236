//! `tally-admin`: database migrations, administration of a Tally install,
//! and the Reporting API server.

use std::path::PathBuf;
use std::process::ExitCode;

#[path = "../../common/cli.rs"]
mod cli;
mod demo;
#[path = "../../common/shutdown.rs"]
mod shutdown;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};
use tally_db::DatabaseConfig;
use tally_management::{self as management, GoalParams, NewSiteParams, Principal, SiteChanges};
use tally_reporting::ReportingConfig;
use tally_tracking::http::TrackerConfig;

/// Administer a Tally installation: database schema, sites, users, goals
/// and the Reporting API.
#[derive(Debug, Parser)]
#[command(version, propagate_version = true)]
struct Cli {
    /// Config file (TOML). Default: ./tally.toml if present. Every key can be
    /// overridden by TALLY_SECTION_KEY, e.g. TALLY_DATABASE_URL.
    #[arg(long, global = true, env = "TALLY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create the database if it does not exist and apply pending migrations.
    Migrate {
        /// Only list the pending migrations.
        #[arg(long)]
        dry_run: bool,
    },
    /// Serve the Reporting API (index.php?module=API) and, unless
    /// --no-tracker, the tracking endpoints (/matomo.php) on one port.
    Serve {
        /// Address to listen on (default: the tracker.listen setting).
        #[arg(long)]
        listen: Option<String>,
        /// Serve only the API, without /matomo.php and /piwik.php.
        #[arg(long)]
        no_tracker: bool,
    },
    /// From nothing to a report: migrate, a demo site and super user (token
    /// printed), tracker and API served, a week of generated traffic
    /// tracked and archived, and a curl line for VisitsSummary.get.
    Demo {
        /// Address to listen on (default: the tracker.listen setting).
        #[arg(long)]
        listen: Option<String>,
        /// Visits to generate per day, over the last 7 days.
        #[arg(long, default_value_t = 40)]
        visits_per_day: u32,
        /// Generate, archive and print, then exit instead of serving.
        #[arg(long)]
        no_serve: bool,
    },
    /// Websites (SitesManager).
    #[command(subcommand)]
    Site(SiteCommand),
    /// Users, access and API tokens (UsersManager).
    #[command(subcommand)]
    User(UserCommand),
    /// Goals of a site.
    #[command(subcommand)]
    Goal(GoalCommand),
    /// Stored segments (SegmentEditor).
    #[command(subcommand)]
    Segment(SegmentCommand),
}

#[derive(Debug, Subcommand)]
enum SegmentCommand {
    /// Store a segment and print its id.
    Add {
        /// The segment's name.
        #[arg(long)]
        name: String,
        /// Its definition, e.g. `referrerType==search;browserCode==FF`.
        #[arg(long)]
        definition: String,
        /// The one site it is for; every site without it.
        #[arg(long)]
        site: Option<u32>,
        /// Pre-process it: `tally-archiver run` builds its reports, past
        /// dates included.
        #[arg(long)]
        auto_archive: bool,
        /// Show it to every user.
        #[arg(long)]
        all_users: bool,
    },
    /// List stored segments (of one site and all-sites ones with --site).
    List {
        /// The site id.
        #[arg(long)]
        site: Option<u32>,
    },
    /// Delete a stored segment (kept with deleted = 1, as Matomo).
    Delete {
        /// The segment id.
        idsegment: u32,
    },
}

#[derive(Debug, Subcommand)]
enum SiteCommand {
    /// Add a website and print its id.
    Add {
        /// The site's name.
        #[arg(long)]
        name: String,
        /// Its URLs: the first is the main URL, others are aliases.
        #[arg(long = "url", required = true)]
        urls: Vec<String>,
        #[command(flatten)]
        settings: SiteSettings,
    },
    /// List every website.
    List,
    /// Change a website's settings.
    Update {
        /// The site id.
        idsite: u32,
        /// New name.
        #[arg(long)]
        name: Option<String>,
        /// New URLs (replace main URL and aliases).
        #[arg(long = "url")]
        urls: Vec<String>,
        #[command(flatten)]
        settings: SiteSettings,
    },
    /// Delete a website's settings, goals and access (log rows are kept).
    Delete {
        /// The site id.
        idsite: u32,
    },
}

/// Settings shared by `site add` and `site update`.
#[derive(Debug, Args)]
struct SiteSettings {
    /// IANA time zone (Europe/Paris) or UTC+N.
    #[arg(long)]
    timezone: Option<String>,
    /// ISO 4217 currency code.
    #[arg(long)]
    currency: Option<String>,
    /// Enable ecommerce reports.
    #[arg(long)]
    ecommerce: Option<bool>,
    /// Excluded IPs, CIDR ranges or wildcards, comma-separated.
    #[arg(long)]
    excluded_ips: Option<String>,
    /// Excluded URL query parameters, comma-separated.
    #[arg(long)]
    excluded_parameters: Option<String>,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; --superuser for a super user.
    Add {
        /// Login (2-100 characters of A-Z a-z 0-9 _ . @ + -).
        login: String,
        /// Email address.
        #[arg(long)]
        email: String,
        /// Password (6-200 characters).
        #[arg(long, env = "TALLY_USER_PASSWORD")]
        password: String,
        /// Make the user a super user.
        #[arg(long)]
        superuser: bool,
        /// Site the (non super) user gets view access to.
        #[arg(long)]
        site: Option<u32>,
    },
    /// List users.
    List,
    /// Give a user view, write, admin or noaccess on sites.
    Grant {
        /// The user's login.
        login: String,
        /// view, write, admin or noaccess.
        #[arg(long)]
        access: String,
        /// Site ids.
        #[arg(long = "site", required = true)]
        sites: Vec<u32>,
    },
    /// Create an API token for a user and print it (shown only once).
    Token {
        /// The user's login.
        login: String,
        /// What the token is for.
        #[arg(long, default_value = "tally-admin")]
        description: String,
    },
}

#[derive(Debug, Subcommand)]
enum GoalCommand {
    /// Add a goal and print its id.
    Add {
        /// The site id.
        #[arg(long)]
        site: u32,
        /// The goal's name.
        #[arg(long)]
        name: String,
        /// url, title, file, external_website, manually, event_category,
        /// event_action or event_name.
        #[arg(long = "match", default_value = "url")]
        match_attribute: String,
        /// The pattern to match.
        #[arg(long, default_value = "")]
        pattern: String,
        /// contains, exact or regex.
        #[arg(long, default_value = "contains")]
        pattern_type: String,
        /// Default revenue of a conversion.
        #[arg(long)]
        revenue: Option<f64>,
        /// Convert more than once per visit.
        #[arg(long)]
        allow_multiple: bool,
        /// Match case-sensitively.
        #[arg(long)]
        case_sensitive: bool,
    },
    /// List a site's goals.
    List {
        /// The site id.
        #[arg(long)]
        site: u32,
    },
    /// Delete a goal (and its conversions).
    Delete {
        /// The site id.
        #[arg(long)]
        site: u32,
        /// The goal id.
        idgoal: u32,
    },
}

/// Every section of tally.toml, so that one file serves every binary.
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Config {
    database: DatabaseConfig,
    tracker: TrackerConfig,
    /// Read by tally-archiver, and by the API when it archives on demand.
    archiver: tally_archiving::ArchivingConfig,
    reporting: ReportingConfig,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::main_with("tally-admin", || run(cli))
}

/// The command line acts with super user rights: whoever can run it can
/// reach the database anyway.
fn cli_principal() -> Principal {
    Principal::super_user("tally-admin")
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config: Config =
        tally_db::config::load(cli.config.as_deref()).context("loading config")?;
    // Matomo's one delimiter key: the tracker trims titles on it.
    config
        .tracker
        .title_category_delimiter
        .clone_from(&config.archiver.action_title_category_delimiter);
    match cli.command {
        Command::Migrate { dry_run } => migrate(&config.database, dry_run),
        Command::Serve { listen, no_tracker } => {
            let listen = listen.unwrap_or_else(|| config.tracker.listen.clone());
            serve(&config, &listen, !no_tracker, None)
        }
        Command::Demo {
            listen,
            visits_per_day,
            no_serve,
        } => {
            migrate(&config.database, false)?;
            let listen = listen.unwrap_or_else(|| config.tracker.listen.clone());
            let options = demo::Options {
                listen: listen.clone(),
                visits_per_day,
            };
            if no_serve {
                serve(&config, &listen, true, Some((options, true)))
            } else {
                serve(&config, &listen, true, Some((options, false)))
            }
        }
        Command::Site(command) => site(&config.database, command),
        Command::User(command) => user(&config.database, command),
        Command::Goal(command) => goal(&config.database, command),
        Command::Segment(command) => segment(&config.database, command),
    }
}

/// Serves the API (and the tracker); with a demo, seeds it once listening.
fn serve(
    config: &Config,
    listen: &str,
    with_tracker: bool,
    demo: Option<(demo::Options, bool)>,
) -> anyhow::Result<()> {
    let pool = tally_db::pool(&config.database)?;
    let setup = match &demo {
        Some(_) => Some(demo::prepare(&mut *pool.get()?)?),
        None => None,
    };
    let api = tally_reporting::Api::new(
        pool.clone(),
        tally_archiving::Registry::core_with(&config.archiver),
        config.archiver.clone(),
        config.reporting.clone(),
    );
    let mut router = tally_reporting::http::router(api.clone());
    if with_tracker {
        let tracker = tally_tracking::http::Tracker::start(pool.clone(), &config.tracker)
            .context("starting the tracker")?;
        // Admin changes made through this API apply to the next hit.
        let listening = tracker.clone();
        api.notify_settings_changes(move || listening.settings_changed());
        router = router.merge(tally_tracking::http::router(tracker));
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, tracker = with_tracker, "serving the API");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(tally_tracking::server::serve_router(
            listener,
            router,
            config.tracker.connection_timeouts(),
            async move {
                tokio::select! {
                    () = shutdown::signal() => {},
                    _ = stop_rx => {},
                }
            },
        ));
        if let (Some((options, exit_after)), Some(setup)) = (demo, setup) {
            demo::run(&pool, &options, &setup, &config.archiver).await?;
            if exit_after {
                let _ = stop_tx.send(());
            } else {
                eprintln!("==> serving on http://{addr} (Ctrl-C stops it)");
                std::mem::forget(stop_tx);
            }
        } else {
            std::mem::forget(stop_tx);
        }
        server.await.context("server task")?;
        anyhow::Ok(())
    })
}

fn connect(database: &DatabaseConfig) -> anyhow::Result<diesel::MysqlConnection> {
    tally_db::connect(&database.url).context("connecting to the database")
}

fn site(database: &DatabaseConfig, command: SiteCommand) -> anyhow::Result<()> {
    let mut conn = connect(database)?;
    let actor = cli_principal();
    match command {
        SiteCommand::Add {
            name,
            urls,
            settings,
        } => {
            let params = NewSiteParams {
                timezone: settings.timezone,
                currency: settings.currency,
                ecommerce: settings.ecommerce,
                excluded_ips: settings.excluded_ips,
                excluded_parameters: settings.excluded_parameters,
                ..NewSiteParams::new(name, urls)
            };
            let idsite = management::add_site(&mut conn, &actor, &params)?;
            println!("{idsite}");
        }
        SiteCommand::List => {
            for site in management::get_all_sites(&mut conn, &actor)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    site.idsite, site.name, site.main_url, site.timezone, site.currency
                );
            }
        }
        SiteCommand::Update {
            idsite,
            name,
            urls,
            settings,
        } => {
            let changes = SiteChanges {
                name,
                urls: (!urls.is_empty()).then_some(urls),
                timezone: settings.timezone,
                currency: settings.currency,
                ecommerce: settings.ecommerce,
                excluded_ips: settings.excluded_ips,
                excluded_parameters: settings.excluded_parameters,
                ..SiteChanges::default()
            };
            management::update_site(&mut conn, &actor, idsite, &changes)?;
            println!("updated site {idsite}");
        }
        SiteCommand::Delete { idsite } => {
            management::delete_site(&mut conn, &actor, idsite)?;
            println!("deleted site {idsite}");
        }
    }
    Ok(())
}

fn user(database: &DatabaseConfig, command: UserCommand) -> anyhow::Result<()> {
    let mut conn = connect(database)?;
    let actor = cli_principal();
    let now = time::OffsetDateTime::now_utc();
    match command {
        UserCommand::Add {
            login,
            email,
            password,
            superuser,
            site,
        } => {
            if superuser {
                management::create_superuser(&mut conn, &login, &password, &email, now)?;
            } else {
                management::add_user(&mut conn, &actor, &login, &password, &email, site, now)?;
            }
            println!("added user {login}");
        }
        UserCommand::List => {
            for user in management::get_users(&mut conn, &actor)? {
                let role = if user.superuser_access > 0 {
                    "superuser"
                } else {
                    "user"
                };
                println!("{}\t{}\t{role}", user.login, user.email.unwrap_or_default());
            }
        }
        UserCommand::Grant {
            login,
            access,
            sites,
        } => {
            management::set_user_access(&mut conn, &actor, &login, &access, &sites)?;
            println!("{login}: {access} on {sites:?}");
        }
        UserCommand::Token { login, description } => {
            let token = management::create_app_specific_token(
                &mut conn,
                &actor,
                &login,
                "",
                &description,
                None,
                now,
            )?;
            println!("{token}");
        }
    }
    Ok(())
}

fn goal(database: &DatabaseConfig, command: GoalCommand) -> anyhow::Result<()> {
    let mut conn = connect(database)?;
    let actor = cli_principal();
    match command {
        GoalCommand::Add {
            site,
            name,
            match_attribute,
            pattern,
            pattern_type,
            revenue,
            allow_multiple,
            case_sensitive,
        } => {
            let params = GoalParams {
                name,
                match_attribute,
                pattern,
                pattern_type,
                case_sensitive,
                revenue: revenue.unwrap_or(0.0),
                allow_multiple,
                description: String::new(),
                event_value_as_revenue: false,
            };
            let idgoal = management::add_goal(&mut conn, &actor, site, &params)?;
            println!("{idgoal}");
        }
        GoalCommand::List { site } => {
            for goal in management::get_goals(&mut conn, &actor, site)? {
                println!(
                    "{}\t{}\t{} {} {}",
                    goal.idgoal,
                    goal.name,
                    goal.match_attribute,
                    goal.pattern_type.unwrap_or_default(),
                    goal.pattern.unwrap_or_default()
                );
            }
        }
        GoalCommand::Delete { site, idgoal } => {
            management::delete_goal(&mut conn, &actor, site, idgoal)?;
            println!("deleted goal {idgoal} of site {site}");
        }
    }
    Ok(())
}

fn segment(database: &DatabaseConfig, command: SegmentCommand) -> anyhow::Result<()> {
    let mut conn = connect(database)?;
    let actor = cli_principal();
    let now = time::OffsetDateTime::now_utc();
    match command {
        SegmentCommand::Add {
            name,
            definition,
            site,
            auto_archive,
            all_users,
        } => {
            let params = management::SegmentParams {
                auto_archive,
                enabled_all_users: all_users,
                ..management::SegmentParams::new(name, definition, site)
            };
            let id = management::add_segment(&mut conn, &actor, &params, now)?;
            println!("{id}");
        }
        SegmentCommand::List { site } => {
            for segment in management::get_all_segments(&mut conn, &actor, site)? {
                let scope = segment
                    .idsite()
                    .map_or_else(|| "all sites".to_owned(), |id| format!("site {id}"));
                println!(
                    "{}\t{}\t{}\t{scope}{}",
                    segment.idsegment,
                    segment.name,
                    segment.definition,
                    if segment.auto_archive == 1 {
                        ", pre-processed"
                    } else {
                        ""
                    }
                );
            }
        }
        SegmentCommand::Delete { idsegment } => {
            management::delete_segment(&mut conn, &actor, idsegment, now)?;
            println!("deleted segment {idsegment}");
        }
    }
    Ok(())
}

fn migrate(database: &DatabaseConfig, dry_run: bool) -> anyhow::Result<()> {
    let url = tally_db::redact(&database.url);
    if !dry_run && tally_db::create_database_if_missing(&database.url)? {
        println!("created database {url}");
    }
    let mut conn = tally_db::connect(&database.url)?;
    if dry_run {
        let pending = tally_db::pending_migrations(&mut conn)?;
        println!("{} pending migration(s) for {url}", pending.len());
        for name in pending {
            println!("  {name}");
        }
        return Ok(());
    }
    let applied = tally_db::run_migrations(&mut conn)?;
    if applied.is_empty() {
        println!("database {url} is up to date");
    } else {
        println!("applied {} migration(s) to {url}", applied.len());
        for name in applied {
            println!("  {name}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_cli() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    /// tally.example.toml documents every key with its default value.
    #[test]
    fn example_config_matches_the_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tally.example.toml");
        let text = std::fs::read_to_string(path).expect("tally.example.toml");
        let parsed: Config =
            toml::from_str(&text).expect("example parses with deny_unknown_fields");
        assert_eq!(parsed, Config::default());
        let example: toml::Table = toml::from_str(&text).expect("toml");
        let defaults = toml::Table::try_from(Config::default()).expect("serializes");
        assert_eq!(
            example, defaults,
            "every default key appears in the example"
        );
    }
}
