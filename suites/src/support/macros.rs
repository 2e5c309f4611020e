//! `test!`: declares a [`crate::TestDef`] from an `async fn(TestContext) -> anyhow::Result<()>`
//! without repeating its name or boxing its future by hand.

/// Declares one test of `$area`, named after the function it runs.
///
/// ```ignore
/// test!("api-machinery", crud::create_then_get_returns_the_object,
///       tags: [Conformance], upstream: ["…testname…"], needs: [Kubectl])
/// ```
macro_rules! test {
    ($area:expr, $module:ident :: $name:ident
        $(, tags: [$($tag:expr),* $(,)?])?
        $(, upstream: [$($up:expr),* $(,)?])?
        $(, needs: [$($need:ident),* $(,)?])?
        $(,)?
    ) => {
        $crate::TestDef {
            area: $area,
            name: stringify!($name),
            tags: &[$($({
                #[allow(unused_imports)]
                use $crate::Tag::*;
                $tag
            }),*)?],
            upstream: &[$($($up),*)?],
            needs: &[$($($crate::Need::$need),*)?],
            run: |ctx| Box::pin($module::$name(ctx)),
        }
    };
}
