//! The codes this crate reports. Their documentation lives in the rule registry
//! (`plumb-checks`), which `plumb explain` prints.

pub const UNKNOWN_NAME: &str = "PL1001";
pub const DUPLICATE: &str = "PL1002";
pub const TYPE_MISMATCH: &str = "PL1003";
pub const UNKNOWN_FIELD: &str = "PL1004";
pub const MISSING_FIELD: &str = "PL1005";
pub const IMPORT_NOT_FOUND: &str = "PL1006";
pub const IMPORT_CYCLE: &str = "PL1007";
pub const BAD_INSTANTIATION: &str = "PL1008";
pub const RECURSIVE_LET: &str = "PL1009";
pub const SHADOWED: &str = "PL1010";
pub const MATRIX_TOO_LARGE: &str = "PL1011";
pub const IMPORT_TOO_DEEP: &str = "PL1012";
pub const VALUE_TOO_LARGE: &str = "PL1014";
pub const SECRET_MISUSE: &str = "PL4002";
