//! PL1012 import-too-deep: imports that nest more than 32 files deep.
//!
//! Reported by the semantic layer; this module holds its documentation.

declare_rule! {
    code: PL1012,
    summary: r####"Imports that nest more than 32 files deep."####,
    explanation: r####"A file that imports a file that imports a file … more than 32 levels deep is refused at the first import of the chain. Names are not re-exported through imports anyway (a file sees only what its direct imports define), so such chains only make the program slower to read and to check. Import the shared definitions directly."####,
    bad: r####"# main.plumb
import "f1.plumb"
# f1.plumb
import "f2.plumb"
# f2.plumb
import "f3.plumb"
# f3.plumb
import "f4.plumb"
# f4.plumb
import "f5.plumb"
# f5.plumb
import "f6.plumb"
# f6.plumb
import "f7.plumb"
# f7.plumb
import "f8.plumb"
# f8.plumb
import "f9.plumb"
# f9.plumb
import "f10.plumb"
# f10.plumb
import "f11.plumb"
# f11.plumb
import "f12.plumb"
# f12.plumb
import "f13.plumb"
# f13.plumb
import "f14.plumb"
# f14.plumb
import "f15.plumb"
# f15.plumb
import "f16.plumb"
# f16.plumb
import "f17.plumb"
# f17.plumb
import "f18.plumb"
# f18.plumb
import "f19.plumb"
# f19.plumb
import "f20.plumb"
# f20.plumb
import "f21.plumb"
# f21.plumb
import "f22.plumb"
# f22.plumb
import "f23.plumb"
# f23.plumb
import "f24.plumb"
# f24.plumb
import "f25.plumb"
# f25.plumb
import "f26.plumb"
# f26.plumb
import "f27.plumb"
# f27.plumb
import "f28.plumb"
# f28.plumb
import "f29.plumb"
# f29.plumb
import "f30.plumb"
# f30.plumb
import "f31.plumb"
# f31.plumb
import "f32.plumb"
# f32.plumb
import "f33.plumb"
# f33.plumb
let x = "deep""####,
    good: r####"# main.plumb
import "common.plumb"
# common.plumb
let x = "shallow""####,
}
