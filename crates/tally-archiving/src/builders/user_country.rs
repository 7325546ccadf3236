//! UserCountry: visits by country, region and city (MATOMO.md section 7.5;
//! Matomo's `plugins/UserCountry/RecordBuilders/Locations.php`).

use std::collections::HashMap;

use tally_datatable::{DataTable, Scalar};

use crate::ArchiveError;
use crate::builders::goals::{enrich_with_goal_sums, goal_metric_columns};
use crate::builders::{MAX_ROWS_STANDARD, label_of, sum_visits};
use crate::context::{DayContext, SharedScan};
use crate::grouping::{Groups, KeyBuf, group_visit_dimensions};
use crate::logs::VisitDimensions;
use crate::record::{Record, RecordBuilder};

/// [`UserCountry::COUNTRY`], [`UserCountry::REGION`], [`UserCountry::CITY`]
/// and the numeric [`UserCountry::DISTINCT_COUNTRIES`].
///
/// One GROUP BY country, region and city gives every report: a country row
/// is labelled with the country code (`fr`), a region row `region|country`
/// (`75|fr`) and a city row `city|region|country` (`Paris|75|fr`, or
/// `Paris||fr` without a region). A `|` inside a stored value is removed
/// first so that labels stay unambiguous; an empty (or `"0"`, PHP's
/// `empty()`) region or city keeps the bare value, and NULL is the empty
/// label. Rows carry the 8 visit metrics keyed by id (1, 2, 3, 39, 4, 5,
/// 6, 7); groups that end up with the same label are summed. City rows get
/// `lat` / `long` metadata, rounded to 3 decimals: the largest latitude
/// and longitude of the first group (in GROUP BY order) of that city that
/// has both. `UserCountry_distinctCountries` is the row count of the
/// country table. Countries are never truncated; regions and cities keep
/// [`UserCountry::max_rows`] rows. Longer periods use the default
/// aggregation (city metadata from the first day with visits).
///
/// Differences from Matomo: no goal metrics (column 10 and the
/// `nb_conversions` / `revenue` sums that `EnrichRecordWithGoalMetricSums`
/// adds) on any of the three reports.
#[derive(Debug, Clone)]
pub struct UserCountry {
    /// Top-level rows of the region and city tables
    /// (`datatable_archiving_maximum_rows_standard`, default 500).
    pub max_rows: usize,
}

impl Default for UserCountry {
    fn default() -> Self {
        Self {
            max_rows: MAX_ROWS_STANDARD,
        }
    }
}

impl UserCountry {
    /// Countries, labelled with the country code.
    pub const COUNTRY: &'static str = "UserCountry_country";
    /// Regions, labelled `region|country`.
    pub const REGION: &'static str = "UserCountry_region";
    /// Cities, labelled `city|region|country`, with `lat`/`long` metadata.
    pub const CITY: &'static str = "UserCountry_city";
    /// The number of rows of [`UserCountry::COUNTRY`].
    pub const DISTINCT_COUNTRIES: &'static str = "UserCountry_distinctCountries";
}

/// Country, region and city of a visit, as the SQL groups them.
fn location_key(v: &VisitDimensions, key: &mut KeyBuf) -> bool {
    key.push(v.country.as_deref());
    key.push(v.region.as_deref());
    key.push(v.city.as_deref());
    true
}

/// The largest latitude and longitude of one location group (SQL `MAX`,
/// NULLs skipped).
#[derive(Debug, Default)]
struct Coordinates {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

fn max(current: Option<f64>, value: Option<f64>) -> Option<f64> {
    match (current, value) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The same location of each conversion (`log_conversion` mirrors the
/// visit's location), for the goal metrics of the three reports.
const CONVERSION_DIMENSIONS: [&str; 3] = [
    "log_conversion.location_country",
    "log_conversion.location_region",
    "log_conversion.location_city",
];

/// Separates the parts of region and city labels.
const SEPARATOR: char = '|';

/// PHP's `empty()` on a string.
fn php_empty(text: &str) -> bool {
    text.is_empty() || text == "0"
}

/// The country, region and city labels of one (country, region, city)
/// group.
fn location_labels(values: &[Option<String>]) -> [String; 3] {
    let clean = |index: usize| label_of(values, index).replace(SEPARATOR, "");
    let (country, region, city) = (clean(0), clean(1), clean(2));
    // The city takes the region as stored, before the region label gets
    // its country appended.
    let city = if php_empty(&city) {
        city
    } else {
        format!("{city}{SEPARATOR}{region}{SEPARATOR}{country}")
    };
    let region = if php_empty(&region) {
        region
    } else {
        format!("{region}{SEPARATOR}{country}")
    };
    [country, region, city]
}

/// PHP's `round($value, 3)` of a coordinate.
fn round_coordinate(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

impl RecordBuilder for UserCountry {
    fn plugin(&self) -> &str {
        "UserCountry"
    }

    fn shared_scans(&self) -> &'static [SharedScan] {
        &[SharedScan::VisitDimensions]
    }

    fn records(&self) -> Vec<Record> {
        vec![
            Record::blob(Self::COUNTRY),
            Record::blob(Self::REGION).max_rows(self.max_rows, 0),
            Record::blob(Self::CITY).max_rows(self.max_rows, 0),
            Record::numeric(Self::DISTINCT_COUNTRIES).count_of_rows(Self::COUNTRY, false),
        ]
    }

    fn build_day(&self, ctx: &mut DayContext<'_>) -> Result<(), ArchiveError> {
        let logs = ctx.logs();
        let visits = ctx.visit_dimensions()?;
        let groups = group_visit_dimensions(&visits, location_key);
        let mut tables = [DataTable::new(), DataTable::new(), DataTable::new()];
        for group in &groups {
            let labels = location_labels(&group.labels);
            for (table, label) in tables.iter_mut().zip(&labels) {
                sum_visits(table, label, group)?;
            }
        }
        // Goal metrics per location (`aggregateFromConversions`).
        for group in logs.query_conversions_by_dimension(ctx.conn(), &CONVERSION_DIMENSIONS)? {
            let labels = location_labels(&group.labels);
            let columns = goal_metric_columns(&group);
            for (table, label) in tables.iter_mut().zip(&labels) {
                table.sum_row_with_label(label, columns.clone())?;
            }
        }
        for table in &mut tables {
            enrich_with_goal_sums(table);
        }
        let [countries, regions, mut cities] = tables;
        // Coordinates: the largest of each location group, first group of
        // a city label first (Matomo's second query); days without any
        // city skip it.
        if cities.rows().iter().any(|row| !php_empty(&row.label)) {
            let mut coordinates: HashMap<String, (f64, f64)> = HashMap::new();
            let mut maxima: Groups<Coordinates> = Groups::default();
            for v in visits.iter() {
                if let Some(group) = maxima.entry(|key| location_key(v, key)) {
                    group.latitude = max(group.latitude, v.latitude);
                    group.longitude = max(group.longitude, v.longitude);
                }
            }
            for (labels, group) in maxima.into_sorted() {
                let [_, _, city] = location_labels(&labels);
                if let (Some(lat), Some(long)) = (group.latitude, group.longitude)
                    && !php_empty(&city)
                {
                    coordinates.entry(city).or_insert((lat, long));
                }
            }
            for row in cities.rows_mut() {
                if let Some((lat, long)) = coordinates.get(&row.label) {
                    row.metadata
                        .set("lat".to_owned(), Scalar::Float(round_coordinate(*lat)));
                    row.metadata
                        .set("long".to_owned(), Scalar::Float(round_coordinate(*long)));
                }
            }
        }
        for (name, table) in [
            (Self::COUNTRY, countries),
            (Self::REGION, regions),
            (Self::CITY, cities),
        ] {
            if table.rows_count() > 0 {
                ctx.insert_table(name, table);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(country: Option<&str>, region: Option<&str>, city: Option<&str>) -> [String; 3] {
        location_labels(&[
            country.map(str::to_owned),
            region.map(str::to_owned),
            city.map(str::to_owned),
        ])
    }

    #[test]
    fn region_and_city_labels_name_their_parents() {
        assert_eq!(
            labels(Some("fr"), Some("75"), Some("Paris")),
            ["fr", "75|fr", "Paris|75|fr"]
        );
        assert_eq!(
            labels(Some("de"), None, Some("Berlin")),
            ["de", "", "Berlin||de"]
        );
        assert_eq!(labels(None, None, None), ["", "", ""]);
        assert_eq!(
            labels(Some("us"), Some("C|A"), Some("0")),
            ["us", "CA|us", "0"]
        );
    }

    #[test]
    fn coordinates_keep_three_decimals() {
        assert_eq!(round_coordinate(48.856_613), 48.857);
        assert_eq!(round_coordinate(-0.000_4), -0.0);
        assert_eq!(round_coordinate(2.352_2), 2.352);
    }
}
