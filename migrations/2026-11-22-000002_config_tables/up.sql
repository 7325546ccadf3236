-- Matomo 5 configuration tables (MATOMO.md section 4.6). List-valued columns
-- (excluded IPs, parameters, ...) are comma-separated strings as in Matomo.
-- `option`, `group` and `type` are reserved words: quote them in raw SQL.

CREATE TABLE site (
  idsite INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
  name VARCHAR(90) NOT NULL,
  main_url VARCHAR(255) NOT NULL,
  ts_created TIMESTAMP NULL,
  ecommerce TINYINT NULL DEFAULT 0,
  sitesearch TINYINT NULL DEFAULT 1,
  sitesearch_keyword_parameters TEXT NOT NULL,
  sitesearch_category_parameters TEXT NOT NULL,
  timezone VARCHAR(50) NOT NULL,
  currency CHAR(3) NOT NULL,
  exclude_unknown_urls TINYINT(1) NULL DEFAULT 0,
  excluded_ips TEXT NOT NULL,
  excluded_parameters TEXT NOT NULL,
  excluded_user_agents TEXT NOT NULL,
  excluded_referrers TEXT NOT NULL,
  `group` VARCHAR(250) NOT NULL,
  `type` VARCHAR(255) NOT NULL,
  keep_url_fragment TINYINT NOT NULL DEFAULT 0,
  creator_login VARCHAR(100) NULL,
  PRIMARY KEY (idsite)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Alias URLs of a site (every URL except main_url).
CREATE TABLE site_url (
  idsite INT(10) UNSIGNED NOT NULL,
  url VARCHAR(190) NOT NULL,
  PRIMARY KEY (idsite, url)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- idgoal is max(idgoal)+1 per site; deleted goals keep their id (soft delete).
CREATE TABLE goal (
  idsite INT(11) NOT NULL,
  idgoal INT(11) NOT NULL,
  name VARCHAR(50) NOT NULL,
  description VARCHAR(255) NOT NULL DEFAULT '',
  match_attribute VARCHAR(20) NOT NULL,
  pattern VARCHAR(255) NOT NULL,
  pattern_type VARCHAR(25) NOT NULL,
  case_sensitive TINYINT(4) NOT NULL,
  allow_multiple TINYINT(4) NOT NULL,
  revenue DOUBLE NOT NULL,
  deleted TINYINT(4) NOT NULL DEFAULT 0,
  event_value_as_revenue TINYINT(4) NOT NULL DEFAULT 0,
  PRIMARY KEY (idsite, idgoal)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE user (
  login VARCHAR(100) NOT NULL,
  password VARCHAR(255) NOT NULL,
  email VARCHAR(100) NOT NULL,
  twofactor_secret VARCHAR(40) NOT NULL DEFAULT '',
  superuser_access TINYINT(2) UNSIGNED NOT NULL DEFAULT 0,
  date_registered TIMESTAMP NULL,
  ts_password_modified TIMESTAMP NULL,
  idchange_last_viewed INT UNSIGNED NULL,
  invited_by VARCHAR(100) NULL,
  invite_token VARCHAR(191) NULL,
  invite_link_token VARCHAR(191) NULL,
  invite_expired_at TIMESTAMP NULL,
  invite_accept_at TIMESTAMP NULL,
  ts_changes_shown TIMESTAMP NULL,
  PRIMARY KEY (login),
  UNIQUE KEY uniq_email (email)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE access (
  idaccess INT(10) UNSIGNED NOT NULL AUTO_INCREMENT,
  login VARCHAR(100) NOT NULL,
  idsite INT(10) UNSIGNED NOT NULL,
  access VARCHAR(50) NULL,
  PRIMARY KEY (idaccess),
  INDEX index_loginidsite (login, idsite)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- `password` holds the hashed token, never the token itself.
CREATE TABLE user_token_auth (
  idusertokenauth BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  login VARCHAR(100) NOT NULL,
  description VARCHAR(100) NOT NULL,
  password VARCHAR(191) NOT NULL,
  hash_algo VARCHAR(30) NOT NULL,
  system_token TINYINT(1) NOT NULL DEFAULT 0,
  last_used DATETIME NULL,
  date_created DATETIME NOT NULL,
  date_expired DATETIME NULL,
  secure_only TINYINT(2) UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (idusertokenauth),
  UNIQUE KEY uniq_password (password)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `option` (
  option_name VARCHAR(191) NOT NULL,
  option_value LONGTEXT NOT NULL,
  autoload TINYINT NOT NULL DEFAULT 1,
  PRIMARY KEY (option_name),
  INDEX autoload (autoload)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Id allocation: one row per monthly numeric archive table (name = table name).
CREATE TABLE sequence (
  name VARCHAR(120) NOT NULL,
  value BIGINT(20) UNSIGNED NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Stored segments; hash = md5(urldecode(definition)).
CREATE TABLE segment (
  idsegment INT(11) NOT NULL AUTO_INCREMENT,
  name VARCHAR(255) NOT NULL,
  definition TEXT NOT NULL,
  hash CHAR(32) NULL,
  login VARCHAR(100) NOT NULL,
  enable_all_users TINYINT(4) NOT NULL DEFAULT 0,
  enable_only_idsite INT(11) NULL DEFAULT 0,
  auto_archive TINYINT(4) NOT NULL DEFAULT 0,
  ts_created TIMESTAMP NULL,
  ts_last_edit TIMESTAMP NULL,
  deleted TINYINT(4) NOT NULL DEFAULT 0,
  PRIMARY KEY (idsegment)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
