//! The list of every rule, in the order of the table of codes (a test proves they
//! agree). Adding a rule: see the crate's documentation.

use crate::rules::*;
use crate::{Rule, RuleMeta};

pub static RULES: &[&dyn Rule] = &[
    &pl0001_syntax_error::Check,
    &pl1001_unknown_name::Check,
    &pl1002_duplicate_definition::Check,
    &pl1003_type_mismatch::Check,
    &pl1004_unknown_field::Check,
    &pl1005_missing_field::Check,
    &pl1006_import_not_found::Check,
    &pl1007_import_cycle::Check,
    &pl1008_bad_instantiation::Check,
    &pl1009_recursive_let::Check,
    &pl1010_shadowed_name::Check,
    &pl1011_matrix_too_large::Check,
    &pl1012_import_too_deep::Check,
    &pl1013_expired_allowance::Check,
    &pl1014_value_too_large::Check,
    &pl2001_job_cycle::Check,
    &pl2002_stage_cycle::Check,
    &pl2003_needs_later_stage::Check,
    &pl2004_needs_itself::Check,
    &pl2005_needs_removed_job::Check,
    &pl3001_image_without_tag::Check,
    &pl3002_mutable_tag::Check,
    &pl3003_tag_without_digest::Check,
    &pl3004_malformed_image::Check,
    &pl3005_registry_not_allowed::Check,
    &pl3006_runner_default::Check,
    &pl3007_variable_image::Check,
    &pl4001_hardcoded_credential::Check,
    &pl4002_secret_misuse::Check,
    &pl4003_secret_printed::Check,
    &pl4004_secret_in_arguments::Check,
    &pl4005_secret_unpinned_image::Check,
    &pl4006_secret_in_merge_request::Check,
    &pl4007_secret_in_artifacts::Check,
    &pl5001_not_carried::Check,
    &pl5002_condition_approximated::Check,
    &pl5003_target_name_conflict::Check,
    &pl5004_no_default_image::Check,
    &pl5005_gitlab_schema::Check,
    &pl6001_untrusted_input::Check,
    &pl6002_download_and_execute::Check,
    &pl6003_unpinned_install::Check,
    &pl6004_unpinned_include::Check,
    &pl6005_privileged_container::Check,
    &pl6006_debug_trace::Check,
    &pl6007_invisible_unicode::Check,
];

/// The rule with this code (case-insensitive) or name.
pub fn lookup(code_or_name: &str) -> Option<&'static RuleMeta> {
    RULES
        .iter()
        .map(|r| r.meta())
        .find(|m| m.code.eq_ignore_ascii_case(code_or_name) || m.name() == code_or_name)
}
