//! Reporting API tests: known traffic tracked through the tracker's HTTP
//! routes, archived on demand, and answered through the API's HTTP routes.

mod access;
mod common;
mod compare;
mod format_metrics;
mod formats;
mod goal_columns;
mod live;
mod matomo_campaigns_fixture;
mod matomo_contents_fixture;
mod matomo_ecommerce_fixture;
mod matomo_events_fixture;
mod matomo_fixture;
mod matomo_flatten_labels_fixture;
mod matomo_live_fixture;
mod matomo_many_visitors_fixture;
mod matomo_no_visit;
mod matomo_periods_fixture;
mod matomo_referrers_fixture;
mod matomo_segments_dates_fixture;
mod matomo_site_search_fixture;
mod matomo_timezones_rss_fixture;
mod matomo_transitions_fixture;
mod matomo_truncation_fixture;
mod matomo_two_sites_fixture;
mod matomo_userid_cvars_fixture;
mod meta;
mod on_demand;
mod page_goals;
mod parameters;
mod php_tracker;
mod pivot;
mod present;
mod reports;
mod row_evolution;
mod segments_annotations;
