// @generated from the migrations by crates/tally-db/tests/it/schema_rs.rs: do not edit.
// Regenerate: TALLY_BLESS=1 cargo test -p tally-db --test integration schema_rs

diesel::table! {
    access (idaccess) {
        idaccess -> Unsigned<Integer>,
        #[max_length = 100]
        login -> Varchar,
        idsite -> Unsigned<Integer>,
        #[sql_name = "access"]
        #[max_length = 50]
        access_ -> Nullable<Varchar>,
    }
}

diesel::table! {
    annotation (idsite, idnote) {
        idsite -> Unsigned<Integer>,
        idnote -> Unsigned<Integer>,
        date -> Date,
        note -> Text,
        starred -> Unsigned<TinyInt>,
        #[max_length = 100]
        login -> Varchar,
        ts_created -> Datetime,
    }
}

diesel::table! {
    archive_invalidations (idinvalidation) {
        idinvalidation -> Unsigned<BigInt>,
        idarchive -> Nullable<Unsigned<Integer>>,
        #[max_length = 255]
        name -> Varchar,
        idsite -> Unsigned<Integer>,
        date1 -> Date,
        date2 -> Date,
        period -> Unsigned<TinyInt>,
        ts_invalidated -> Nullable<Datetime>,
        ts_started -> Nullable<Datetime>,
        status -> Unsigned<TinyInt>,
        #[max_length = 255]
        report -> Nullable<Varchar>,
        #[max_length = 100]
        processing_host -> Nullable<Varchar>,
        #[max_length = 15]
        process_id -> Nullable<Varchar>,
    }
}

diesel::table! {
    custom_dimensions (idcustomdimension, idsite) {
        idcustomdimension -> Unsigned<BigInt>,
        idsite -> Unsigned<BigInt>,
        #[max_length = 100]
        name -> Varchar,
        index -> Unsigned<SmallInt>,
        #[max_length = 10]
        scope -> Varchar,
        active -> Unsigned<TinyInt>,
        extractions -> Text,
        case_sensitive -> Unsigned<TinyInt>,
    }
}

diesel::table! {
    goal (idsite, idgoal) {
        idsite -> Integer,
        idgoal -> Integer,
        #[max_length = 50]
        name -> Varchar,
        #[max_length = 255]
        description -> Varchar,
        #[max_length = 20]
        match_attribute -> Varchar,
        #[max_length = 255]
        pattern -> Varchar,
        #[max_length = 25]
        pattern_type -> Varchar,
        case_sensitive -> TinyInt,
        allow_multiple -> TinyInt,
        revenue -> Double,
        deleted -> TinyInt,
        event_value_as_revenue -> TinyInt,
    }
}

diesel::table! {
    log_action (idaction) {
        idaction -> Unsigned<Integer>,
        #[max_length = 4096]
        name -> Nullable<Varchar>,
        hash -> Unsigned<Integer>,
        #[sql_name = "type"]
        type_ -> Nullable<Unsigned<TinyInt>>,
        url_prefix -> Nullable<TinyInt>,
    }
}

diesel::table! {
    log_conversion (idvisit, idgoal, buster) {
        idvisit -> Unsigned<BigInt>,
        idsite -> Unsigned<Integer>,
        #[max_length = 8]
        idvisitor -> Binary,
        server_time -> Datetime,
        idaction_url -> Nullable<Unsigned<Integer>>,
        idlink_va -> Nullable<Unsigned<BigInt>>,
        idgoal -> Integer,
        buster -> Unsigned<Integer>,
        #[max_length = 100]
        idorder -> Nullable<Varchar>,
        items -> Nullable<Unsigned<SmallInt>>,
        #[max_length = 4096]
        url -> Varchar,
        revenue -> Nullable<Double>,
        revenue_shipping -> Nullable<Double>,
        revenue_subtotal -> Nullable<Double>,
        revenue_tax -> Nullable<Double>,
        revenue_discount -> Nullable<Double>,
        pageviews_before -> Nullable<Unsigned<SmallInt>>,
        referer_type -> Nullable<Unsigned<TinyInt>>,
        #[max_length = 255]
        referer_name -> Nullable<Varchar>,
        #[max_length = 255]
        referer_keyword -> Nullable<Varchar>,
        visitor_returning -> Nullable<TinyInt>,
        visitor_count_visits -> Unsigned<Integer>,
        visitor_seconds_since_first -> Nullable<Unsigned<Integer>>,
        visitor_seconds_since_order -> Nullable<Unsigned<Integer>>,
        #[max_length = 40]
        config_browser_name -> Nullable<Varchar>,
        config_client_type -> Nullable<TinyInt>,
        config_device_type -> Nullable<TinyInt>,
        #[max_length = 100]
        config_device_brand -> Nullable<Varchar>,
        #[max_length = 100]
        config_device_model -> Nullable<Varchar>,
        #[max_length = 3]
        location_country -> Nullable<Varchar>,
        #[max_length = 3]
        location_region -> Nullable<Varchar>,
        #[max_length = 255]
        location_city -> Nullable<Varchar>,
        location_latitude -> Nullable<Numeric>,
        location_longitude -> Nullable<Numeric>,
        #[max_length = 255]
        custom_dimension_1 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_2 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_3 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_4 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_5 -> Nullable<Varchar>,
    }
}

diesel::table! {
    /// The custom-variable columns of `log_conversion` (optional CustomVariables plugin).
    #[sql_name = "log_conversion"]
    log_conversion_custom_var (idvisit, idgoal, buster) {
        idvisit -> Unsigned<BigInt>,
        idgoal -> Integer,
        buster -> Unsigned<Integer>,
        #[max_length = 200]
        custom_var_k1 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v1 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k2 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v2 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k3 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v3 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k4 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v4 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k5 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v5 -> Nullable<Varchar>,
    }
}

diesel::table! {
    log_conversion_item (idvisit, idorder, idaction_sku) {
        idsite -> Unsigned<Integer>,
        #[max_length = 8]
        idvisitor -> Binary,
        server_time -> Datetime,
        idvisit -> Unsigned<BigInt>,
        #[max_length = 100]
        idorder -> Varchar,
        idaction_sku -> Unsigned<Integer>,
        idaction_name -> Unsigned<Integer>,
        idaction_category -> Unsigned<Integer>,
        idaction_category2 -> Unsigned<Integer>,
        idaction_category3 -> Unsigned<Integer>,
        idaction_category4 -> Unsigned<Integer>,
        idaction_category5 -> Unsigned<Integer>,
        price -> Double,
        quantity -> Unsigned<Integer>,
        deleted -> Unsigned<TinyInt>,
    }
}

diesel::table! {
    log_link_visit_action (idlink_va) {
        idlink_va -> Unsigned<BigInt>,
        idsite -> Unsigned<Integer>,
        #[max_length = 8]
        idvisitor -> Binary,
        idvisit -> Unsigned<BigInt>,
        idaction_url_ref -> Nullable<Unsigned<Integer>>,
        idaction_name_ref -> Nullable<Unsigned<Integer>>,
        custom_float -> Nullable<Double>,
        pageview_position -> Nullable<Unsigned<Integer>>,
        server_time -> Datetime,
        idaction_url -> Nullable<Unsigned<Integer>>,
        idaction_name -> Nullable<Unsigned<Integer>>,
        #[max_length = 6]
        idpageview -> Nullable<Varchar>,
        time_spent_ref_action -> Nullable<Unsigned<Integer>>,
        #[max_length = 200]
        search_cat -> Nullable<Varchar>,
        search_count -> Nullable<Unsigned<Integer>>,
        idaction_event_category -> Nullable<Unsigned<Integer>>,
        idaction_event_action -> Nullable<Unsigned<Integer>>,
        idaction_content_name -> Nullable<Unsigned<Integer>>,
        idaction_content_piece -> Nullable<Unsigned<Integer>>,
        idaction_content_target -> Nullable<Unsigned<Integer>>,
        idaction_content_interaction -> Nullable<Unsigned<Integer>>,
        idaction_product_sku -> Nullable<Unsigned<Integer>>,
        idaction_product_name -> Nullable<Unsigned<Integer>>,
        idaction_product_cat -> Nullable<Unsigned<Integer>>,
        idaction_product_cat2 -> Nullable<Unsigned<Integer>>,
        idaction_product_cat3 -> Nullable<Unsigned<Integer>>,
        idaction_product_cat4 -> Nullable<Unsigned<Integer>>,
        idaction_product_cat5 -> Nullable<Unsigned<Integer>>,
        product_price -> Nullable<Double>,
        time_network -> Nullable<Unsigned<Integer>>,
        time_server -> Nullable<Unsigned<Integer>>,
        time_transfer -> Nullable<Unsigned<Integer>>,
        time_dom_processing -> Nullable<Unsigned<Integer>>,
        time_dom_completion -> Nullable<Unsigned<Integer>>,
        time_on_load -> Nullable<Unsigned<Integer>>,
        time_spent -> Nullable<Unsigned<Integer>>,
        #[max_length = 255]
        custom_dimension_1 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_2 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_3 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_4 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_5 -> Nullable<Varchar>,
        bandwidth -> Nullable<Unsigned<BigInt>>,
    }
}

diesel::table! {
    /// The custom-variable columns of `log_link_visit_action` (optional CustomVariables plugin).
    #[sql_name = "log_link_visit_action"]
    log_link_visit_action_custom_var (idlink_va) {
        idlink_va -> Unsigned<BigInt>,
        #[max_length = 200]
        custom_var_k1 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v1 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k2 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v2 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k3 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v3 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k4 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v4 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k5 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v5 -> Nullable<Varchar>,
    }
}

diesel::table! {
    log_visit (idvisit) {
        idvisit -> Unsigned<BigInt>,
        idsite -> Unsigned<Integer>,
        #[max_length = 8]
        idvisitor -> Binary,
        visit_last_action_time -> Datetime,
        #[max_length = 8]
        config_id -> Binary,
        #[max_length = 16]
        location_ip -> Binary,
        #[max_length = 200]
        user_id -> Nullable<Varchar>,
        visit_first_action_time -> Datetime,
        visit_goal_buyer -> Nullable<TinyInt>,
        visit_goal_converted -> Nullable<TinyInt>,
        visit_total_time -> Unsigned<Integer>,
        visitor_returning -> Nullable<TinyInt>,
        visitor_count_visits -> Unsigned<Integer>,
        visitor_seconds_since_first -> Nullable<Unsigned<Integer>>,
        visitor_seconds_since_order -> Nullable<Unsigned<Integer>>,
        profilable -> Nullable<TinyInt>,
        visit_entry_idaction_name -> Nullable<Unsigned<Integer>>,
        visit_entry_idaction_url -> Nullable<Unsigned<Integer>>,
        visit_exit_idaction_name -> Nullable<Unsigned<Integer>>,
        visit_exit_idaction_url -> Nullable<Unsigned<Integer>>,
        visit_total_actions -> Nullable<Unsigned<Integer>>,
        visit_total_interactions -> Nullable<Unsigned<Integer>>,
        visit_total_searches -> Nullable<Unsigned<SmallInt>>,
        visit_total_events -> Nullable<Unsigned<Integer>>,
        referer_type -> Nullable<Unsigned<TinyInt>>,
        #[max_length = 255]
        referer_name -> Nullable<Varchar>,
        #[max_length = 255]
        referer_keyword -> Nullable<Varchar>,
        #[max_length = 1500]
        referer_url -> Nullable<Varchar>,
        #[max_length = 3]
        config_os -> Nullable<Varchar>,
        #[max_length = 100]
        config_os_version -> Nullable<Varchar>,
        #[max_length = 40]
        config_browser_name -> Nullable<Varchar>,
        #[max_length = 20]
        config_browser_version -> Nullable<Varchar>,
        #[max_length = 10]
        config_browser_engine -> Nullable<Varchar>,
        config_client_type -> Nullable<TinyInt>,
        config_device_type -> Nullable<TinyInt>,
        #[max_length = 100]
        config_device_brand -> Nullable<Varchar>,
        #[max_length = 100]
        config_device_model -> Nullable<Varchar>,
        #[max_length = 18]
        config_resolution -> Nullable<Varchar>,
        config_cookie -> Nullable<TinyInt>,
        config_flash -> Nullable<TinyInt>,
        config_java -> Nullable<TinyInt>,
        config_pdf -> Nullable<TinyInt>,
        config_quicktime -> Nullable<TinyInt>,
        config_realplayer -> Nullable<TinyInt>,
        config_silverlight -> Nullable<TinyInt>,
        config_windowsmedia -> Nullable<TinyInt>,
        #[max_length = 20]
        location_browser_lang -> Nullable<Varchar>,
        #[max_length = 3]
        location_country -> Nullable<Varchar>,
        #[max_length = 3]
        location_region -> Nullable<Varchar>,
        #[max_length = 255]
        location_city -> Nullable<Varchar>,
        location_latitude -> Nullable<Numeric>,
        location_longitude -> Nullable<Numeric>,
        visitor_localtime -> Nullable<Time>,
        visitor_seconds_since_last -> Nullable<Unsigned<Integer>>,
        last_idlink_va -> Nullable<Unsigned<BigInt>>,
        #[max_length = 255]
        custom_dimension_1 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_2 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_3 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_4 -> Nullable<Varchar>,
        #[max_length = 255]
        custom_dimension_5 -> Nullable<Varchar>,
    }
}

diesel::table! {
    /// The custom-variable columns of `log_visit` (optional CustomVariables plugin).
    #[sql_name = "log_visit"]
    log_visit_custom_var (idvisit) {
        idvisit -> Unsigned<BigInt>,
        #[max_length = 200]
        custom_var_k1 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v1 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k2 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v2 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k3 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v3 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k4 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v4 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_k5 -> Nullable<Varchar>,
        #[max_length = 200]
        custom_var_v5 -> Nullable<Varchar>,
    }
}

diesel::table! {
    logimport_day_status (idsite, date) {
        idsite -> Unsigned<Integer>,
        date -> Date,
        #[max_length = 16]
        status -> Varchar,
        files_total -> Unsigned<Integer>,
        files_completed -> Unsigned<Integer>,
        ts_updated -> Datetime,
    }
}

diesel::table! {
    logimport_file (idfile) {
        idfile -> Unsigned<BigInt>,
        #[max_length = 1024]
        path -> Varchar,
        #[max_length = 32]
        content_hash -> Binary,
        size_bytes -> Unsigned<BigInt>,
        idsite -> Nullable<Unsigned<Integer>>,
        #[max_length = 50]
        log_format -> Nullable<Varchar>,
        #[max_length = 16]
        status -> Varchar,
        offset_bytes -> Unsigned<BigInt>,
        lines_done -> Unsigned<BigInt>,
        ts_created -> Datetime,
        ts_updated -> Datetime,
        ts_completed -> Nullable<Datetime>,
    }
}

diesel::table! {
    logimport_file_summary (idsummary) {
        idsummary -> Unsigned<BigInt>,
        idfile -> Unsigned<BigInt>,
        ts_started -> Datetime,
        ts_finished -> Nullable<Datetime>,
        lines_parsed -> Unsigned<BigInt>,
        lines_imported -> Unsigned<BigInt>,
        ignored_static -> Unsigned<BigInt>,
        ignored_bots -> Unsigned<BigInt>,
        ignored_http_errors -> Unsigned<BigInt>,
        ignored_redirects -> Unsigned<BigInt>,
        ignored_excluded -> Unsigned<BigInt>,
        ignored_invalid -> Unsigned<BigInt>,
        errors -> Unsigned<BigInt>,
    }
}

diesel::table! {
    option (option_name) {
        #[max_length = 191]
        option_name -> Varchar,
        option_value -> Text,
        autoload -> TinyInt,
    }
}

diesel::table! {
    segment (idsegment) {
        idsegment -> Integer,
        #[max_length = 255]
        name -> Varchar,
        definition -> Text,
        #[max_length = 32]
        hash -> Nullable<Varchar>,
        #[max_length = 100]
        login -> Varchar,
        enable_all_users -> TinyInt,
        enable_only_idsite -> Nullable<Integer>,
        auto_archive -> TinyInt,
        ts_created -> Nullable<Timestamp>,
        ts_last_edit -> Nullable<Timestamp>,
        deleted -> TinyInt,
    }
}

diesel::table! {
    sequence (name) {
        #[max_length = 120]
        name -> Varchar,
        value -> Unsigned<BigInt>,
    }
}

diesel::table! {
    site (idsite) {
        idsite -> Unsigned<Integer>,
        #[max_length = 90]
        name -> Varchar,
        #[max_length = 255]
        main_url -> Varchar,
        ts_created -> Nullable<Timestamp>,
        ecommerce -> Nullable<TinyInt>,
        sitesearch -> Nullable<TinyInt>,
        sitesearch_keyword_parameters -> Text,
        sitesearch_category_parameters -> Text,
        #[max_length = 50]
        timezone -> Varchar,
        #[max_length = 3]
        currency -> Varchar,
        exclude_unknown_urls -> Nullable<TinyInt>,
        excluded_ips -> Text,
        excluded_parameters -> Text,
        excluded_user_agents -> Text,
        excluded_referrers -> Text,
        #[max_length = 250]
        group -> Varchar,
        #[sql_name = "type"]
        #[max_length = 255]
        type_ -> Varchar,
        keep_url_fragment -> TinyInt,
        #[max_length = 100]
        creator_login -> Nullable<Varchar>,
    }
}

diesel::table! {
    site_url (idsite, url) {
        idsite -> Unsigned<Integer>,
        #[max_length = 190]
        url -> Varchar,
    }
}

diesel::table! {
    tracking_failure (idsite, idfailure) {
        idsite -> Unsigned<BigInt>,
        idfailure -> Unsigned<SmallInt>,
        date_first_occurred -> Datetime,
        request_url -> Text,
    }
}

diesel::table! {
    user (login) {
        #[max_length = 100]
        login -> Varchar,
        #[max_length = 255]
        password -> Varchar,
        #[max_length = 100]
        email -> Varchar,
        #[max_length = 40]
        twofactor_secret -> Varchar,
        superuser_access -> Unsigned<TinyInt>,
        date_registered -> Nullable<Timestamp>,
        ts_password_modified -> Nullable<Timestamp>,
        idchange_last_viewed -> Nullable<Unsigned<Integer>>,
        #[max_length = 100]
        invited_by -> Nullable<Varchar>,
        #[max_length = 191]
        invite_token -> Nullable<Varchar>,
        #[max_length = 191]
        invite_link_token -> Nullable<Varchar>,
        invite_expired_at -> Nullable<Timestamp>,
        invite_accept_at -> Nullable<Timestamp>,
        ts_changes_shown -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_token_auth (idusertokenauth) {
        idusertokenauth -> Unsigned<BigInt>,
        #[max_length = 100]
        login -> Varchar,
        #[max_length = 100]
        description -> Varchar,
        #[max_length = 191]
        password -> Varchar,
        #[max_length = 30]
        hash_algo -> Varchar,
        system_token -> TinyInt,
        last_used -> Nullable<Datetime>,
        date_created -> Datetime,
        date_expired -> Nullable<Datetime>,
        secure_only -> Unsigned<TinyInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    access,
    annotation,
    archive_invalidations,
    custom_dimensions,
    goal,
    log_action,
    log_conversion,
    log_conversion_custom_var,
    log_conversion_item,
    log_link_visit_action,
    log_link_visit_action_custom_var,
    log_visit,
    log_visit_custom_var,
    logimport_day_status,
    logimport_file,
    logimport_file_summary,
    option,
    segment,
    sequence,
    site,
    site_url,
    tracking_failure,
    user,
    user_token_auth,
);
