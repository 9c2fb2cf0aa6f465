//! The codes this crate reports. Their documentation lives in the rule registry
//! (`plumb-checks`), which `plumb explain` prints.

use plumb_diagnostics::Code;

pub const UNKNOWN_NAME: Code = Code::PL1001;
pub const DUPLICATE: Code = Code::PL1002;
pub const TYPE_MISMATCH: Code = Code::PL1003;
pub const UNKNOWN_FIELD: Code = Code::PL1004;
pub const MISSING_FIELD: Code = Code::PL1005;
pub const IMPORT_NOT_FOUND: Code = Code::PL1006;
pub const IMPORT_CYCLE: Code = Code::PL1007;
pub const BAD_INSTANTIATION: Code = Code::PL1008;
pub const RECURSIVE_LET: Code = Code::PL1009;
pub const SHADOWED: Code = Code::PL1010;
pub const MATRIX_TOO_LARGE: Code = Code::PL1011;
pub const IMPORT_TOO_DEEP: Code = Code::PL1012;
pub const VALUE_TOO_LARGE: Code = Code::PL1014;
/// A job naming itself in `dependencies`, which is checked like `needs` (§6.2).
pub const NEEDS_ITSELF: Code = Code::PL2004;
/// A job's `dependencies` naming a job of its own or a later stage (checked like `needs`).
pub const DEPENDS_ON_LATER_STAGE: Code = Code::PL2003;
pub const SECRET_MISUSE: Code = Code::PL4002;
pub const UNTRUSTED_INPUT: Code = Code::PL6001;
