//! Library-level tests of the core against semantics.md, one group per section.

mod core_support;

use chainsched::core::*;
use core_support::*;

const PROGS: &str = "program P { builtin noop; }\n";

fn src(body: &str) -> String {
    format!("{PROGS}{body}")
}

#[test]
fn simple_sequence_runs_and_logs() {
    let mut d = Driver::new(&src("chain C { step A program P; step B program P;
           rule R1 when TRUE then START A;
           rule R2 when A SUCCEEDED then START B;
           rule R3 when B COMPLETED then END; }"));
    d.start("C", "J1");
    assert_eq!(d.st("J1", "A"), "RUNNING");
    d.run();
    assert_eq!(d.state("J1"), JobState::Succeeded);
    assert_eq!(d.job("J1").error_code, Some(0));
    assert_eq!(d.job("J1").ended_at, Some(2 * S));
    assert_eq!(
        d.log_lines("J1"),
        vec![
            "A RUN SUCCEEDED 0",
            "B RUN SUCCEEDED 0",
            "- RUN SUCCEEDED 0"
        ]
    );
    assert_eq!(
        d.timeline("J1", TimelineKind::RuleFired),
        vec!["R1: START A", "R2: START B", "R3: END"]
    );
}
