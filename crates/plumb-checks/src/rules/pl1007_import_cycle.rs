//! PL1007 import-cycle: Files import each other in a cycle.
//!
//! Reported by the parser or the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1007,
    summary: r####"Files import each other in a cycle."####,
    explanation: r####"An import cycle (`a.plumb` imports `b.plumb`, which imports `a.plumb`) is an error: the files cannot be understood one after the other. The message shows the whole chain. Move what both files need into a third file that both import."####,
    bad: r####"# a.plumb
import "b.plumb"
# b.plumb
import "a.plumb""####,
    good: r####"# a.plumb
import "common.plumb"
# b.plumb
import "common.plumb"
# common.plumb
let shared = "x""####,
}
