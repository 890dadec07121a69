//! `chainsched graph`: dot and Mermaid drawings (snapshots), nested chains as clusters,
//! name normalisation, and the errors a user can hit.

mod check_support;
use check_support::*;

#[test]
fn dot_of_a_chain_with_a_nested_chain() {
    let r = chainsched(&[
        "graph",
        "fixtures/loan_approval.chain",
        "--chain",
        "LOAN_APPROVAL",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The nested chain is a cluster holding the outer step and the nested steps.
    assert!(r.stdout.contains("subgraph \"cluster_FUND\" {"));
    assert!(r
        .stdout
        .contains("\"FUND.TRANSFER\" [label=\"TRANSFER\\nprogram TRANSFER_FUNDS\""));
    // Shapes by kind.
    assert!(r
        .stdout
        .contains("\"WAIT_OK\" [label=\"WAIT_OK\\nevent APPROVAL_GRANTED"));
    assert!(r.stdout.contains("shape=hexagon"));
    assert!(r.stdout.contains("shape=box3d"));
    insta::assert_snapshot!("loan_approval_dot", r.stdout);
}

#[test]
fn mermaid_of_a_chain_with_a_nested_chain() {
    let r = chainsched(&[
        "graph",
        "fixtures/loan_approval.chain",
        "--chain",
        "LOAN_APPROVAL",
        "--format",
        "mermaid",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("flowchart TD"));
    assert!(r.stdout.contains("subgraph"));
    insta::assert_snapshot!("loan_approval_mermaid", r.stdout);
}

#[test]
fn oracle_example_in_both_formats() {
    let dot = chainsched(&[
        "graph",
        "fixtures/oracle_example.chain",
        "--chain",
        "MY_CHAIN1",
        "--format",
        "dot",
    ]);
    assert_eq!(dot.code, 0);
    insta::assert_snapshot!("oracle_example_dot", dot.stdout);
    let mermaid = chainsched(&[
        "graph",
        "fixtures/oracle_example.chain",
        "--chain",
        "MY_CHAIN1",
        "--format",
        "mermaid",
    ]);
    assert_eq!(mermaid.code, 0);
    insta::assert_snapshot!("oracle_example_mermaid", mermaid.stdout);
}

#[test]
fn every_rule_edge_is_labelled_with_its_rule() {
    let r = chainsched(&[
        "graph",
        "fixtures/nightly_etl.chain",
        "--chain",
        "NIGHTLY_ETL",
    ]);
    assert_eq!(r.code, 0);
    for rule in [
        "START_IT",
        "EXTRACTED",
        "EXTRACT_FAILED",
        "DUPLICATES",
        "LOCKED",
        "REPAIRED",
        "LOAD_FAILED",
        "GAVE_UP",
        "LOADED",
        "NOTIFIED",
        "DONE",
    ] {
        assert!(
            r.stdout.contains(&format!("[label=\"{rule}: ")),
            "no edge for rule {rule}:\n{}",
            r.stdout
        );
    }
    // END rules go to the end node; the AFTER delay is shown.
    assert!(r.stdout.contains(
        "\"REFRESH\" -> \"$END\" [label=\"DONE: REFRESH COMPLETED\\nEND REFRESH.ERROR_CODE\""
    ));
    assert!(r.stdout.contains("AFTER 00:15:00 START RELOAD"));
}

#[test]
fn chain_names_follow_the_identifier_rule() {
    let lower = chainsched(&["graph", "fixtures/demo.chain", "--chain", "demo"]);
    let upper = chainsched(&["graph", "fixtures/demo.chain", "--chain", "DEMO"]);
    assert_eq!(lower.code, 0, "{}", lower.stderr);
    assert_eq!(lower.stdout, upper.stdout);
}

#[test]
fn an_unknown_chain_is_an_error_with_the_nearest_name() {
    let r = chainsched(&[
        "graph",
        "fixtures/loan_approval.chain",
        "--chain",
        "LOAN_APROVAL",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "");
    assert_eq!(
        r.stderr,
        "error: unknown chain LOAN_APROVAL (did you mean LOAN_APPROVAL?)\n"
    );
}

#[test]
fn rule_files_with_errors_are_not_drawn() {
    let r = chainsched(&[
        "graph",
        "fixtures/bad/unknown-step.chain",
        "--chain",
        "LOAN",
    ]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("error[unknown-step]"), "{}", r.stderr);
}

#[test]
fn a_missing_path_is_bad_usage() {
    let r = chainsched(&["graph", "nope.chain", "--chain", "X"]);
    assert_eq!(r.code, 2);
    let r = chainsched(&["graph", "fixtures/demo.chain"]);
    assert_eq!(r.code, 2, "--chain is required");
}

#[test]
fn svg_is_drawn_without_external_tools() {
    let r = chainsched(&[
        "graph",
        "fixtures/loan_approval.chain",
        "--chain",
        "LOAN_APPROVAL",
        "--format",
        "svg",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let svg = &r.stdout;
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.trim_end().ends_with("</svg>"));
    // Every step, nested ones included, is drawn with its name; the nested chain is a cluster.
    for step in [
        "VALIDATE", "APPROVE", "WAIT_OK", "FUND", "FIX", "TRANSFER", "CONTRACT",
    ] {
        assert!(
            svg.contains(&format!("font-weight=\"bold\">{step}</text>")),
            "{step} missing"
        );
    }
    assert!(svg.contains(">FUND: chain FUNDING</text>"));
    // One path per rule edge, as in the dot drawing; conditions are in the hover titles.
    let dot = chainsched(&[
        "graph",
        "fixtures/loan_approval.chain",
        "--chain",
        "LOAN_APPROVAL",
    ]);
    let dot_edges = dot.stdout.matches(" -> ").count();
    assert_eq!(svg.matches("marker-end=").count(), dot_edges);
    assert!(svg.contains("<title>BAIL: VALIDATE FAILED AND VALIDATE ERROR_CODE != 20100\nEND VALIDATE.ERROR_CODE</title>"));
    // Text is escaped: the event's payload condition has a `>`.
    assert!(svg.contains("amount &gt; 0"));
    // Balanced groups: a cheap well-formedness check.
    assert_eq!(
        svg.matches("<g>").count() + svg.matches("<g ").count(),
        svg.matches("</g>").count()
    );
    insta::assert_snapshot!("loan_approval_svg", r.stdout);
}
