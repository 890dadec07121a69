//! The parser on valid input: every construct of docs/rule-language.md, with the AST checked
//! (names normalised, quoted names exact, spans, precedence, both condition syntaxes, all
//! actions, jobs and groups, durations).

use chainsched::lang::ast::*;
use chainsched::lang::parser::{parse_action, parse_condition, parse_file};
use chainsched::lang::Span;

const SPEC_EXAMPLE: &str = r#"
program LOAD_SALES {
    executable '/opt/etl/bin/load';          -- run directly, no shell
    arguments '--date' '${RUN_DATE}';        -- ${NAME} is replaced by the job parameter NAME
    environment REGION = 'EU', MODE = 'full';
    working_directory '/var/etl';
    timeout 2h;
}
program NOTIFY     { shell 'mail -s done ops@example.com </dev/null'; }   -- run by /bin/sh -c
program CHECK      { handler 'check_balance'; }   -- an in-process handler
program WAIT_A_BIT { builtin sleep 5s; }          -- builtins: noop | sleep DURATION | fail INTEGER

chain LOAN_APPROVAL {
    comment 'Validate, approve and fund a loan application';
    evaluation_interval 5m;                  -- optional: also evaluate the rules periodically

    step VALIDATE program VALIDATE_APP;
    step APPROVE  program APPROVE_LOAN with restart_on_failure;
    step WAIT_OK  event APPROVAL_GRANTED;    -- waits until the event is raised
    step FUND     chain FUNDING;             -- a nested chain
    step FIX      program FIX_APP with pause_before, restart_on_recovery;

    rule START_IT when TRUE then START VALIDATE;
    rule          when VALIDATE SUCCEEDED then START APPROVE, WAIT_OK;
    rule FIXIT    when VALIDATE ERROR_CODE = 20100 then START FIX;
    rule BAIL     when VALIDATE FAILED AND VALIDATE ERROR_CODE != 20100
                  then END VALIDATE.ERROR_CODE;
    rule FUND_IT  when APPROVE SUCCEEDED AND WAIT_OK COMPLETED then AFTER 01:00:00 START FUND;
    rule DONE     when FUND COMPLETED then END FUND.ERROR_CODE
                  comment 'the funding result is the chain result';
}

group FINANCE       { max_running 4; }                 -- at most 4 running chain jobs in the group
group FINANCE.LOANS { max_running 1; }                 -- a child counts against its parents too
job NIGHTLY_LOANS {
    chain LOAN_APPROVAL;
    group FINANCE.LOANS;
    schedule 'FREQ=DAILY;BYHOUR=2';                    -- Oracle calendar syntax, or a cron line
    parameters RUN_DATE = 'today';
    serialize by DEPTNO;                               -- one running job per value of parameter DEPTNO
    restartable;                                       -- after a crash, restart the chain from the beginning
    max_run_duration 4h;                               -- logged as over-duration; does not stop the job
}
"#;

// ------------------------------------------------------------------ helpers

fn parse(src: &str) -> File {
    parse_file(0, src).unwrap_or_else(|e| panic!("expected {src:?} to parse, got {e:#?}"))
}

fn chains(f: &File) -> Vec<&ChainDecl> {
    f.items
        .iter()
        .filter_map(|i| match i {
            Item::Chain(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn programs(f: &File) -> Vec<&ProgramDecl> {
    f.items
        .iter()
        .filter_map(|i| match i {
            Item::Program(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn only_chain(src: &str) -> ChainDecl {
    let f = parse(src);
    let c = chains(&f);
    assert_eq!(c.len(), 1, "one chain in {src:?}");
    c[0].clone()
}

fn cond(src: &str) -> Cond {
    parse_condition(0, src).unwrap_or_else(|e| panic!("condition {src:?}: {e:#?}"))
}

fn action(src: &str) -> Action {
    parse_action(0, src).unwrap_or_else(|e| panic!("action {src:?}: {e:#?}"))
}

fn name(i: &Ident) -> String {
    if i.quoted {
        format!("\"{}\"", i.name)
    } else {
        i.name.clone()
    }
}

fn op(o: CmpOp) -> &'static str {
    match o {
        CmpOp::Eq => "=",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

fn operand(o: &SqlExpr) -> String {
    match o {
        SqlExpr::Attr { step, attr, .. } => format!(":{}.{:?}", name(step), attr),
        SqlExpr::Var { name, .. } => format!("VAR({name})"),
        SqlExpr::Str(s) => format!("'{}'", s.value),
        SqlExpr::Num(n, _) => n.to_string(),
        SqlExpr::Dec(d, _) => format!("{d}"),
        SqlExpr::Null(_) => "NULL".to_string(),
        SqlExpr::Interval(ms, _) => format!("INTERVAL({ms}ms)"),
        SqlExpr::DateLit { ms, timestamp, .. } => {
            format!("{}({ms})", if *timestamp { "TIMESTAMP" } else { "DATE" })
        }
        SqlExpr::Clock(c, _) => c.as_str().to_string(),
        SqlExpr::Neg(x, _) => format!("-{}", operand(x)),
        SqlExpr::Binary {
            op, left, right, ..
        } => format!("({} {} {})", operand(left), op.as_str(), operand(right)),
        SqlExpr::Call { func, args, .. } => {
            let name = match func {
                Func::Extract(f) => format!("EXTRACT_{}", f.as_str()),
                Func::Trim(side) => format!("TRIM_{side:?}"),
                f => f.name().to_string(),
            };
            let args: Vec<String> = args.iter().map(operand).collect();
            format!("{name}({})", args.join(", "))
        }
        SqlExpr::Case {
            subject,
            arms,
            otherwise,
            ..
        } => {
            let mut out = "CASE".to_string();
            if let Some(s) = subject {
                out.push_str(&format!(" {}", operand(s)));
            }
            for arm in arms {
                let when = match &arm.when {
                    CaseWhen::Cond(c) => show(c),
                    CaseWhen::Value(v) => operand(v),
                };
                out.push_str(&format!(" WHEN {when} THEN {}", operand(&arm.then)));
            }
            if let Some(e) = otherwise {
                out.push_str(&format!(" ELSE {}", operand(e)));
            }
            out + " END"
        }
    }
}

/// A condition's shape, without spans, fully parenthesised.
fn show(c: &Cond) -> String {
    match c {
        Cond::Const(b, _) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Cond::StepState {
            step,
            negated,
            test,
            ..
        } => format!(
            "{} {}{:?}",
            name(step),
            if *negated { "NOT " } else { "" },
            test
        ),
        Cond::ErrorCodeIn {
            step,
            negated,
            codes,
            ..
        } => format!(
            "{} ERROR_CODE {}IN {:?}",
            name(step),
            if *negated { "NOT " } else { "" },
            codes
        ),
        Cond::ErrorCodeCmp {
            step, op: o, value, ..
        } => format!("{} ERROR_CODE {} {}", name(step), op(*o), value),
        Cond::Sql(SqlPred::Compare {
            left, op: o, right, ..
        }) => format!("{} {} {}", operand(left), op(*o), operand(right)),
        Cond::Sql(SqlPred::In {
            left,
            negated,
            list,
            ..
        }) => format!(
            "{} {}IN [{}]",
            operand(left),
            if *negated { "NOT " } else { "" },
            list.iter().map(operand).collect::<Vec<_>>().join(", ")
        ),
        Cond::Sql(SqlPred::IsNull {
            operand: o,
            negated,
            ..
        }) => format!(
            "{} IS {}NULL",
            operand(o),
            if *negated { "NOT " } else { "" }
        ),
        Cond::Sql(SqlPred::Like {
            value,
            negated,
            pattern,
            escape,
            ..
        }) => format!(
            "{} {}LIKE {}{}",
            operand(value),
            if *negated { "NOT " } else { "" },
            operand(pattern),
            escape
                .as_ref()
                .map(|e| format!(" ESCAPE {}", operand(e)))
                .unwrap_or_default()
        ),
        Cond::Sql(SqlPred::Between {
            value,
            negated,
            low,
            high,
            ..
        }) => format!(
            "{} {}BETWEEN {} AND {}",
            operand(value),
            if *negated { "NOT " } else { "" },
            operand(low),
            operand(high)
        ),
        Cond::And(a, b) => format!("({} AND {})", show(a), show(b)),
        Cond::Or(a, b) => format!("({} OR {})", show(a), show(b)),
        Cond::Not(a, _) => format!("NOT({})", show(a)),
    }
}

fn show_payload(c: &PayloadCond) -> String {
    let lit = |l: &Literal| match l {
        Literal::Str(s) => format!("'{s}'"),
        Literal::Num(n) => n.to_string(),
    };
    match c {
        PayloadCond::Compare {
            field,
            op: o,
            value,
            ..
        } => format!("{field} {} {}", op(*o), lit(value)),
        PayloadCond::In {
            field,
            negated,
            values,
            ..
        } => format!(
            "{field} {}IN [{}]",
            if *negated { "NOT " } else { "" },
            values.iter().map(lit).collect::<Vec<_>>().join(", ")
        ),
        PayloadCond::IsNull { field, negated, .. } => {
            format!("{field} IS {}NULL", if *negated { "NOT " } else { "" })
        }
        PayloadCond::And(a, b) => format!("({} AND {})", show_payload(a), show_payload(b)),
        PayloadCond::Or(a, b) => format!("({} OR {})", show_payload(a), show_payload(b)),
        PayloadCond::Not(a) => format!("NOT({})", show_payload(a)),
    }
}

fn show_action(a: &Action) -> String {
    let list = |s: &[Ident]| s.iter().map(name).collect::<Vec<_>>().join(",");
    match a {
        Action::Start { after, steps, .. } => match after {
            Some(d) => format!("AFTER {}ms START {}", d.millis, list(steps)),
            None => format!("START {}", list(steps)),
        },
        Action::Stop { steps, .. } => format!("STOP {}", list(steps)),
        Action::End { value, .. } => match value {
            EndValue::Default => "END".to_string(),
            EndValue::Code(n) => format!("END {n}"),
            EndValue::StepErrorCode(s) => format!("END {}.ERROR_CODE", name(s)),
        },
    }
}

/// The source text a span covers.
fn at(src: &str, s: Span) -> &str {
    &src[s.start..s.end]
}

// ------------------------------------------------------------------ the spec's example

#[test]
fn spec_example_programs() {
    let f = parse(SPEC_EXAMPLE);
    assert_eq!(f.items.len(), 8);
    let p = programs(&f);
    assert_eq!(
        p.iter().map(|p| p.name.name.as_str()).collect::<Vec<_>>(),
        ["LOAD_SALES", "NOTIFY", "CHECK", "WAIT_A_BIT"]
    );
    let load = p[0];
    match &load.kind {
        ProgramKind::Executable(s) => assert_eq!(s.value, "/opt/etl/bin/load"),
        k => panic!("{k:?}"),
    }
    assert_eq!(
        load.arguments
            .iter()
            .map(|a| a.value.as_str())
            .collect::<Vec<_>>(),
        ["--date", "${RUN_DATE}"]
    );
    assert_eq!(
        load.environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.value.as_str()))
            .collect::<Vec<_>>(),
        [("REGION", "EU"), ("MODE", "full")]
    );
    assert_eq!(load.working_directory.as_ref().unwrap().value, "/var/etl");
    assert_eq!(load.timeout.unwrap().millis, 2 * 3_600_000);
    match &p[1].kind {
        ProgramKind::Shell(s) => assert_eq!(s.value, "mail -s done ops@example.com </dev/null"),
        k => panic!("{k:?}"),
    }
    match &p[2].kind {
        ProgramKind::Handler(s) => assert_eq!(s.value, "check_balance"),
        k => panic!("{k:?}"),
    }
    match &p[3].kind {
        ProgramKind::Builtin(Builtin::Sleep(d)) => assert_eq!(d.millis, 5000),
        k => panic!("{k:?}"),
    }
    assert!(p[3].arguments.is_empty() && p[3].timeout.is_none());
}

#[test]
fn spec_example_chain() {
    let f = parse(SPEC_EXAMPLE);
    let c = chains(&f)[0];
    assert_eq!(c.name.name, "LOAN_APPROVAL");
    assert_eq!(
        c.comment.as_ref().unwrap().value,
        "Validate, approve and fund a loan application"
    );
    assert_eq!(c.evaluation_interval.unwrap().millis, 300_000);

    let steps: Vec<_> = c.steps.iter().map(|s| s.name.name.as_str()).collect();
    assert_eq!(steps, ["VALIDATE", "APPROVE", "WAIT_OK", "FUND", "FIX"]);
    assert!(matches!(&c.steps[0].kind, StepKind::Program(p) if p.name == "VALIDATE_APP"));
    assert_eq!(c.steps[0].attrs, StepAttrs::default());
    let approve = &c.steps[1].attrs;
    let policy = approve.restart_on_failure.as_ref().unwrap();
    assert_eq!(
        (policy.retries, policy.delay, policy.backoff),
        (None, None, None),
        "no policy written: the Oracle default applies"
    );
    assert!(matches!(&c.steps[2].kind,
        StepKind::Event { event, condition: None, condition_text: None } if event.name == "APPROVAL_GRANTED"));
    assert!(matches!(&c.steps[3].kind, StepKind::Chain(n) if n.name == "FUNDING"));
    let fix = &c.steps[4].attrs;
    assert!(fix.pause_before && fix.restart_on_recovery && !fix.pause && !fix.skip);
    assert_eq!(
        fix.spans
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>(),
        ["pause_before", "restart_on_recovery"]
    );

    let names: Vec<Option<&str>> = c
        .rules
        .iter()
        .map(|r| r.name.as_ref().map(|n| n.name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            Some("START_IT"),
            None,
            Some("FIXIT"),
            Some("BAIL"),
            Some("FUND_IT"),
            Some("DONE")
        ]
    );
    let conds: Vec<String> = c.rules.iter().map(|r| show(&r.condition)).collect();
    assert_eq!(
        conds,
        [
            "TRUE",
            "VALIDATE Succeeded",
            "VALIDATE ERROR_CODE = 20100",
            "(VALIDATE Failed AND VALIDATE ERROR_CODE != 20100)",
            "(APPROVE Succeeded AND WAIT_OK Completed)",
            "FUND Completed",
        ]
    );
    let actions: Vec<String> = c.rules.iter().map(|r| show_action(&r.action)).collect();
    assert_eq!(
        actions,
        [
            "START VALIDATE",
            "START APPROVE,WAIT_OK",
            "START FIX",
            "END VALIDATE.ERROR_CODE",
            "AFTER 3600000ms START FUND",
            "END FUND.ERROR_CODE",
        ]
    );
    assert_eq!(
        c.rules[3].condition_text,
        "VALIDATE FAILED AND VALIDATE ERROR_CODE != 20100"
    );
    assert_eq!(c.rules[4].action_text, "AFTER 01:00:00 START FUND");
    assert_eq!(
        c.rules[5].comment.as_ref().unwrap().value,
        "the funding result is the chain result"
    );
    assert!(c.rules[..5].iter().all(|r| r.comment.is_none()));
}

#[test]
fn spec_example_jobs_and_groups() {
    let f = parse(SPEC_EXAMPLE);
    let groups: Vec<&GroupDecl> = f
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Group(g) => Some(g),
            _ => None,
        })
        .collect();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].path.len(), 1);
    assert_eq!(groups[0].max_running, Some(4));
    assert_eq!(
        groups[1]
            .path
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["FINANCE", "LOANS"]
    );
    assert_eq!(groups[1].max_running, Some(1));
    let job = f
        .items
        .iter()
        .find_map(|i| match i {
            Item::Job(j) => Some(j),
            _ => None,
        })
        .unwrap();
    assert_eq!(job.name.name, "NIGHTLY_LOANS");
    assert_eq!(job.chain.as_ref().unwrap().name, "LOAN_APPROVAL");
    assert_eq!(
        job.group
            .as_ref()
            .unwrap()
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>(),
        ["FINANCE", "LOANS"]
    );
    assert_eq!(job.schedule.as_ref().unwrap().value, "FREQ=DAILY;BYHOUR=2");
    assert_eq!(job.parameters.len(), 1);
    assert_eq!(job.parameters[0].0.name, "RUN_DATE");
    assert_eq!(job.parameters[0].1.value, "today");
    assert_eq!(job.serialize_by.as_ref().unwrap().name, "DEPTNO");
    assert!(job.restartable);
    assert_eq!(job.max_run_duration.unwrap().millis, 4 * 3_600_000);
}

// ------------------------------------------------------------------ names and lexical rules

#[test]
fn unquoted_names_are_upper_cased_and_quoted_names_kept_exactly() {
    let c = only_chain(
        r#"chain loan { step load_sales program p1; step "step1" program "Prog";
           step A$1#x program P; rule r1 when "step1" succeeded and load_sales failed
           then start "step1", a$1#X; }"#,
    );
    assert_eq!(c.name.name, "LOAN");
    assert!(!c.name.quoted);
    let s: Vec<(String, bool)> = c
        .steps
        .iter()
        .map(|s| (s.name.name.clone(), s.name.quoted))
        .collect();
    assert_eq!(
        s,
        [
            ("LOAD_SALES".to_string(), false),
            ("step1".to_string(), true),
            ("A$1#X".to_string(), false)
        ]
    );
    assert!(matches!(&c.steps[1].kind, StepKind::Program(p) if p.name == "Prog" && p.quoted));
    assert_eq!(
        show(&c.rules[0].condition),
        "(\"step1\" Succeeded AND LOAD_SALES Failed)"
    );
    assert_eq!(show_action(&c.rules[0].action), "START \"step1\",A$1#X");
    assert_eq!(c.rules[0].name.as_ref().unwrap().name, "R1");
}

#[test]
fn quoted_names_may_hold_any_character_but_a_double_quote() {
    let c = only_chain(
        "chain C { step \"load sales; (eu) -- 'x' {}\" program P;\n step \"START\" program P; \
         rule when \"START\" SUCCEEDED then END; }",
    );
    assert_eq!(c.steps[0].name.name, "load sales; (eu) -- 'x' {}");
    assert_eq!(c.steps[1].name.name, "START");
    assert!(c.steps[1].name.quoted);
}

#[test]
fn names_of_128_characters_are_accepted() {
    let long = format!("A{}", "B".repeat(127));
    let c = only_chain(&format!("chain {long} {{ step {long} program P; }}"));
    assert_eq!(c.name.name.len(), 128);
    assert_eq!(c.steps[0].name.name, long);
}

#[test]
fn keywords_are_case_insensitive() {
    let c = only_chain(
        "Chain c { STEP a PROGRAM p WITH Skip, PAUSE; Rule When a Succeeded aNd NoT (b fAiLeD) \
         Or TrUe Then Start a; RULE WHEN A Error_Code In (1) THEN end a.error_code; }",
    );
    assert!(c.steps[0].attrs.skip && c.steps[0].attrs.pause);
    assert_eq!(
        show(&c.rules[0].condition),
        "((A Succeeded AND NOT(B Failed)) OR TRUE)"
    );
    assert_eq!(show_action(&c.rules[1].action), "END A.ERROR_CODE");
}

#[test]
fn keywords_never_match_the_prefix_of_a_name() {
    let c = only_chain(
        "chain C { step ENDPOINT program P; step STARTER program P; step ANDROID program P; \
         step ORDERS program P; step ISLAND program P; step NOTIFY program P; step INTERVALS program P;\n\
         rule when ENDPOINT SUCCEEDED AND ANDROID FAILED OR ORDERS COMPLETED AND ISLAND STOPPED \
         AND NOTIFY NOT SUCCEEDED AND INTERVALS SUCCEEDED then START STARTER, ENDPOINT;\n\
         rule when STARTER SUCCEEDED then END ENDPOINT.ERROR_CODE;\n\
         rule when ANDROID SUCCEEDED then STOP ORDERS, NOTIFY; }",
    );
    assert_eq!(c.steps.len(), 7);
    assert_eq!(
        show(&c.rules[0].condition),
        "((ENDPOINT Succeeded AND ANDROID Failed) OR (((ORDERS Completed AND ISLAND Stopped) \
         AND NOTIFY NOT Succeeded) AND INTERVALS Succeeded))"
    );
    assert_eq!(show_action(&c.rules[0].action), "START STARTER,ENDPOINT");
    assert_eq!(show_action(&c.rules[1].action), "END ENDPOINT.ERROR_CODE");
    assert_eq!(show_action(&c.rules[2].action), "STOP ORDERS,NOTIFY");
}

#[test]
fn words_meaningful_only_inside_blocks_may_be_names() {
    let f = parse(
        "program SHELL { builtin noop; }\nprogram SLEEP { builtin noop; }\n\
         chain SCHEDULE { step SKIP program SHELL with skip; step STATE program SLEEP;\n\
         step DURATION program SHELL; step TIMEOUT program SHELL;\n\
         rule when SKIP SUCCEEDED and :STATE.state = 'SUCCEEDED' then START DURATION, TIMEOUT; }\n\
         job RESTARTABLE { chain SCHEDULE; parameters SCHEDULE = 'x'; serialize by BY; }",
    );
    let c = chains(&f)[0];
    assert_eq!(c.name.name, "SCHEDULE");
    assert_eq!(c.steps[0].name.name, "SKIP");
    assert!(c.steps[0].attrs.skip);
    assert_eq!(
        show(&c.rules[0].condition),
        "(SKIP Succeeded AND :STATE.State = 'SUCCEEDED')"
    );
}

#[test]
fn strings_undo_sql_quoting() {
    let f = parse(
        "program P { shell 'echo ''it''s'' && echo done'; arguments '' 'a\nb' '--x=${RUN_DATE}'; }",
    );
    let p = programs(&f)[0];
    match &p.kind {
        ProgramKind::Shell(s) => assert_eq!(s.value, "echo 'it's' && echo done"),
        k => panic!("{k:?}"),
    }
    let args: Vec<&str> = p.arguments.iter().map(|a| a.value.as_str()).collect();
    assert_eq!(args, ["", "a\nb", "--x=${RUN_DATE}"]);
}

#[test]
fn comments_and_whitespace_anywhere() {
    let src = "# leading hash comment\r\n-- dash comment\r\nchain C -- after the name\r\n{\r\n\
               \tstep A#1 program P; # a name may hold '#', a comment starts after a blank\r\n\
               rule when -- inside a condition\r\n A#1 SUCCEEDED # again\r\n then END; }\r\n\
               -- a comment at the very end without a newline";
    let c = only_chain(src);
    assert_eq!(c.steps[0].name.name, "A#1");
    assert_eq!(c.rules[0].condition_text, "A#1 SUCCEEDED");
    assert_eq!(c.rules[0].action_text, "END");
}

#[test]
fn empty_files_and_comment_only_files_have_no_items() {
    assert!(parse("").items.is_empty());
    assert!(parse("  \n\t-- nothing here\n# nor here").items.is_empty());
    assert!(parse("\u{FEFF}program P { builtin noop; }").items.len() == 1);
}

#[test]
fn a_semicolon_after_a_block_is_allowed() {
    let f = parse("program P { builtin noop; };\nchain C { step A program P; };\ngroup G { };");
    assert_eq!(f.items.len(), 3);
}

// ------------------------------------------------------------------ programs

#[test]
fn program_kinds_and_settings() {
    let f = parse(
        "program E { executable '/bin/true'; }\n\
         program N { builtin noop; timeout 01:30:00; }\n\
         program F { builtin fail 20100; }\n\
         program S { working_directory '/tmp'; builtin sleep 1h30m; environment path = '/bin';\n\
                     environment \"Mixed Case\" = 'x'; arguments 'a' 'b'; }",
    );
    let p = programs(&f);
    assert!(matches!(&p[0].kind, ProgramKind::Executable(s) if s.value == "/bin/true"));
    assert_eq!(p[1].kind, ProgramKind::Builtin(Builtin::Noop));
    assert_eq!(p[1].timeout.unwrap().millis, 5_400_000);
    assert_eq!(p[2].kind, ProgramKind::Builtin(Builtin::Fail(20100)));
    match &p[3].kind {
        ProgramKind::Builtin(Builtin::Sleep(d)) => assert_eq!(d.millis, 5_400_000),
        k => panic!("{k:?}"),
    }
    let env: Vec<&str> = p[3].environment.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        env,
        ["path", "Mixed Case"],
        "environment keys keep their case"
    );
    assert_eq!(p[3].working_directory.as_ref().unwrap().value, "/tmp");
    assert_eq!(p[3].arguments.len(), 2);
}

#[test]
fn durations_in_every_form() {
    let cases = [
        ("500ms", 500u64),
        ("30s", 30_000),
        ("5m", 300_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("1h30m", 5_400_000),
        ("1d2h3m4s5ms", 93_784_005),
        ("01:30:00", 5_400_000),
        ("100:00:01", 360_001_000),
        ("5M", 300_000),
    ];
    for (text, ms) in cases {
        let f = parse(&format!(
            "program P {{ builtin sleep {text}; timeout {text}; }}\n\
             chain C {{ evaluation_interval {text}; step A program P with restart_on_failure(delay {text}); }}\n\
             job J {{ chain C; max_run_duration {text}; }}"
        ));
        let p = programs(&f)[0];
        match &p.kind {
            ProgramKind::Builtin(Builtin::Sleep(d)) => assert_eq!(d.millis, ms, "{text}"),
            k => panic!("{k:?}"),
        }
        assert_eq!(p.timeout.unwrap().millis, ms, "{text}");
        let c = chains(&f)[0];
        assert_eq!(c.evaluation_interval.unwrap().millis, ms, "{text}");
        let policy = c.steps[0].attrs.restart_on_failure.as_ref().unwrap();
        assert_eq!(policy.delay.unwrap().millis, ms, "{text}");
        let j = f
            .items
            .iter()
            .find_map(|i| match i {
                Item::Job(j) => Some(j),
                _ => None,
            })
            .unwrap();
        assert_eq!(j.max_run_duration.unwrap().millis, ms, "{text}");
    }
}

// ------------------------------------------------------------------ steps

#[test]
fn step_attributes_and_retry_policies() {
    let c = only_chain(
        "chain C {\n\
         step A program P with skip, pause, pause_before, restart_on_recovery, restart_on_failure;\n\
         step B program P with restart_on_failure(retries 3, delay 30s, backoff 2);\n\
         step D program P with restart_on_failure(backoff 1.5, retries 0);\n\
         step E chain SUB with pause; }",
    );
    let a = &c.steps[0].attrs;
    assert!(a.skip && a.pause && a.pause_before && a.restart_on_recovery);
    assert!(a.restart_on_failure.is_some());
    assert_eq!(
        a.spans.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        [
            "skip",
            "pause",
            "pause_before",
            "restart_on_recovery",
            "restart_on_failure"
        ]
    );
    let b = c.steps[1].attrs.restart_on_failure.as_ref().unwrap();
    assert_eq!(b.retries, Some(3));
    assert_eq!(b.delay.unwrap().millis, 30_000);
    assert_eq!(b.backoff, Some(2.0));
    let d = c.steps[2].attrs.restart_on_failure.as_ref().unwrap();
    assert_eq!((d.retries, d.delay, d.backoff), (Some(0), None, Some(1.5)));
    assert!(c.steps[3].attrs.pause && !c.steps[3].attrs.skip);
    assert!(matches!(&c.steps[3].kind, StepKind::Chain(n) if n.name == "SUB"));
}

#[test]
fn event_steps_with_payload_conditions_keep_field_names_exactly() {
    let src = "chain C {\n\
        step W event FILE_ARRIVED where file = 'sales.csv' AND size > 0 with pause;\n\
        step X event e2 where \"Content-Type\" IN ('a', 'b') OR NOT (retry IS NULL) AND n <> -1.5;\n\
        step Y event E3 where Size NOT IN (1, 2) and tag is not null;\n\
        step Z event E4 where ( a = 1 OR b = 2 ) AND c >= 3;\n}";
    let c = only_chain(src);
    let ev = |i: usize| match &c.steps[i].kind {
        StepKind::Event {
            event,
            condition,
            condition_text,
        } => (
            event.name.clone(),
            condition.as_ref().map(show_payload),
            condition_text.clone(),
        ),
        k => panic!("{k:?}"),
    };
    assert_eq!(
        ev(0),
        (
            "FILE_ARRIVED".to_string(),
            Some("(file = 'sales.csv' AND size > 0)".to_string()),
            Some("file = 'sales.csv' AND size > 0".to_string())
        )
    );
    assert!(c.steps[0].attrs.pause);
    assert_eq!(ev(1).0, "E2");
    assert_eq!(
        ev(1).1.unwrap(),
        "(Content-Type IN ['a', 'b'] OR (NOT(retry IS NULL) AND n != -1.5))"
    );
    assert_eq!(ev(2).1.unwrap(), "(Size NOT IN [1, 2] AND tag IS NOT NULL)");
    assert_eq!(ev(3).1.unwrap(), "((a = 1 OR b = 2) AND c >= 3)");
    assert_eq!(ev(3).2.unwrap(), "( a = 1 OR b = 2 ) AND c >= 3");
}

// ------------------------------------------------------------------ conditions

#[test]
fn precedence_is_not_then_and_then_or_left_associative() {
    let cases = [
        (
            "A SUCCEEDED OR B SUCCEEDED AND C SUCCEEDED",
            "(A Succeeded OR (B Succeeded AND C Succeeded))",
        ),
        (
            "A SUCCEEDED AND B SUCCEEDED OR C SUCCEEDED",
            "((A Succeeded AND B Succeeded) OR C Succeeded)",
        ),
        (
            "A SUCCEEDED AND B SUCCEEDED AND C SUCCEEDED",
            "((A Succeeded AND B Succeeded) AND C Succeeded)",
        ),
        (
            "A SUCCEEDED OR B SUCCEEDED OR C SUCCEEDED",
            "((A Succeeded OR B Succeeded) OR C Succeeded)",
        ),
        (
            "NOT (A SUCCEEDED) AND B SUCCEEDED",
            "(NOT(A Succeeded) AND B Succeeded)",
        ),
        (
            "NOT (A SUCCEEDED OR B SUCCEEDED) OR C FAILED",
            "(NOT((A Succeeded OR B Succeeded)) OR C Failed)",
        ),
        (
            "(A SUCCEEDED OR B SUCCEEDED) AND C SUCCEEDED",
            "((A Succeeded OR B Succeeded) AND C Succeeded)",
        ),
        ("NOT(NOT(A SUCCEEDED))", "NOT(NOT(A Succeeded))"),
        ("((((TRUE))))", "TRUE"),
    ];
    for (text, shape) in cases {
        assert_eq!(show(&cond(text)), shape, "{text}");
    }
}

#[test]
fn chain_syntax_predicates() {
    let cases = [
        ("TRUE", "TRUE"),
        ("false", "FALSE"),
        ("A SUCCEEDED", "A Succeeded"),
        ("A FAILED", "A Failed"),
        ("A STOPPED", "A Stopped"),
        ("A COMPLETED", "A Completed"),
        ("A NOT SUCCEEDED", "A NOT Succeeded"),
        ("A NOT FAILED", "A NOT Failed"),
        ("A NOT STOPPED", "A NOT Stopped"),
        ("A NOT COMPLETED", "A NOT Completed"),
        ("A ERROR_CODE IN (1, 2,3)", "A ERROR_CODE IN [1, 2, 3]"),
        ("A ERROR_CODE NOT IN (-1)", "A ERROR_CODE NOT IN [-1]"),
        ("A ERROR_CODE = 20100", "A ERROR_CODE = 20100"),
        ("A ERROR_CODE != 1", "A ERROR_CODE != 1"),
        ("A ERROR_CODE <> 1", "A ERROR_CODE != 1"),
        ("A ERROR_CODE > 1", "A ERROR_CODE > 1"),
        ("A ERROR_CODE >= +1", "A ERROR_CODE >= 1"),
        ("A ERROR_CODE < -5", "A ERROR_CODE < -5"),
        ("A ERROR_CODE <= 0", "A ERROR_CODE <= 0"),
        ("A ERROR_CODE=7", "A ERROR_CODE = 7"),
    ];
    for (text, shape) in cases {
        assert_eq!(show(&cond(text)), shape, "{text}");
    }
}

#[test]
fn sql_syntax_predicates() {
    let cases = [
        (":A.state = 'SUCCEEDED'", ":A.State = 'SUCCEEDED'"),
        (":a.STATE='FAILED'", ":A.State = 'FAILED'"),
        (":A.completed = 'TRUE'", ":A.Completed = 'TRUE'"),
        (":A.error_code IN (1, 3)", ":A.ErrorCode IN [1, 3]"),
        (":A.error_code NOT IN (1)", ":A.ErrorCode NOT IN [1]"),
        (":A.error_code IS NULL", ":A.ErrorCode IS NULL"),
        (":A.error_code is not null", ":A.ErrorCode IS NOT NULL"),
        (":A.error_code <> 0", ":A.ErrorCode != 0"),
        (
            ":\"s1\".start_date < SYSDATE",
            ":\"s1\".StartDate < SYSDATE",
        ),
        (
            ":A.duration > INTERVAL '5' MINUTE",
            ":A.Duration > INTERVAL(300000ms)",
        ),
        (
            ":A.end_date > SYSTIMESTAMP - INTERVAL '1' HOUR",
            ":A.EndDate > (SYSTIMESTAMP - INTERVAL(3600000ms))",
        ),
        (
            ":A.end_date <= sysdate + interval '2' days",
            ":A.EndDate <= (SYSDATE + INTERVAL(172800000ms))",
        ),
        (
            ":A.duration >= INTERVAL '30' seconds",
            ":A.Duration >= INTERVAL(30000ms)",
        ),
        (
            ":A.duration < INTERVAL '1' Second",
            ":A.Duration < INTERVAL(1000ms)",
        ),
        (
            ":A.duration < INTERVAL '2' HOURS",
            ":A.Duration < INTERVAL(7200000ms)",
        ),
        (
            ":A.duration < INTERVAL '3' MINUTES",
            ":A.Duration < INTERVAL(180000ms)",
        ),
        ("1=1", "1 = 1"),
        ("1 = 0", "1 = 0"),
        ("'a' = 'a'", "'a' = 'a'"),
    ];
    for (text, shape) in cases {
        assert_eq!(show(&cond(text)), shape, "{text}");
    }
}

#[test]
fn both_syntaxes_mix_in_one_condition() {
    assert_eq!(
        show(&cond(
            "A SUCCEEDED AND :B.state = 'FAILED' OR NOT (:C.error_code IS NULL) AND 1=1"
        )),
        "((A Succeeded AND :B.State = 'FAILED') OR (NOT(:C.ErrorCode IS NULL) AND 1 = 1))"
    );
}

#[test]
fn condition_spans_point_at_the_source() {
    let src = "A SUCCEEDED AND  :B.state = 'X'";
    match cond(src) {
        Cond::And(a, b) => {
            match *a {
                Cond::StepState { step, span, .. } => {
                    assert_eq!(at(src, span), "A SUCCEEDED");
                    assert_eq!(at(src, step.span), "A");
                }
                other => panic!("{other:?}"),
            }
            match *b {
                Cond::Sql(SqlPred::Compare {
                    left, right, span, ..
                }) => {
                    assert_eq!(at(src, span), ":B.state = 'X'");
                    match (left, right) {
                        (SqlExpr::Attr { step, span, .. }, SqlExpr::Str(s)) => {
                            assert_eq!(at(src, span), ":B.state");
                            assert_eq!(at(src, step.span), "B");
                            assert_eq!(at(src, s.span), "'X'");
                        }
                        other => panic!("{other:?}"),
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("{other:?}"),
    }
    match cond("NOT (A FAILED)") {
        Cond::Not(_, span) => assert_eq!((span.start, span.end), (0, 14)),
        other => panic!("{other:?}"),
    }
}

// ------------------------------------------------------------------ actions

#[test]
fn every_action_form() {
    let cases = [
        ("START A", "START A"),
        ("start a, b ,c", "START A,B,C"),
        ("AFTER 01:30:00 START X", "AFTER 5400000ms START X"),
        (
            "after 100:00:01 start X, \"y\"",
            "AFTER 360001000ms START X,\"y\"",
        ),
        ("AFTER 00:00:00 START X", "AFTER 0ms START X"),
        ("STOP A", "STOP A"),
        ("STOP A, B", "STOP A,B"),
        ("END", "END"),
        ("END 0", "END 0"),
        ("END 3", "END 3"),
        ("END -1", "END -1"),
        ("END +20100", "END 20100"),
        ("END A.ERROR_CODE", "END A.ERROR_CODE"),
        ("end \"s1\".error_code", "END \"s1\".ERROR_CODE"),
    ];
    for (text, shape) in cases {
        assert_eq!(show_action(&action(text)), shape, "{text}");
    }
    match action("  AFTER 00:00:05 START B") {
        Action::Start {
            after: Some(d),
            span,
            ..
        } => {
            assert_eq!((d.span.start, d.span.end), (8, 16));
            assert_eq!((span.start, span.end), (2, 24));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rules_keep_order_optional_names_comments_and_collapsed_texts() {
    let src = "chain C {\n\
        step A program P;\n\
        rule when TRUE then START A;\n\
        rule NAMED when A   SUCCEEDED -- first\n\
             AND :A.state =  'it''s  odd'\n\
             then END comment 'it''s the end';\n\
        rule \"lower\" when A FAILED then END 1 comment 'x';\n\
        rule when A STOPPED then\n   STOP   A ;\n}";
    let c = only_chain(src);
    let names: Vec<Option<String>> = c.rules.iter().map(|r| r.name.as_ref().map(name)).collect();
    assert_eq!(
        names,
        [
            None,
            Some("NAMED".to_string()),
            Some("\"lower\"".to_string()),
            None
        ]
    );
    let r = &c.rules[1];
    assert_eq!(r.condition_text, "A SUCCEEDED AND :A.state = 'it''s  odd'");
    assert_eq!(r.action_text, "END");
    assert_eq!(r.comment.as_ref().unwrap().value, "it's the end");
    assert!(at(src, r.span).starts_with("rule NAMED when"));
    assert!(at(src, r.span).ends_with("'it''s the end';"));
    assert_eq!(c.rules[2].comment.as_ref().unwrap().value, "x");
    assert_eq!(c.rules[3].action_text, "STOP A");
    assert!(c.rules[3].comment.is_none());
}

// ------------------------------------------------------------------ spans of declarations

#[test]
fn declaration_spans_point_at_the_source() {
    let src = "-- header\nchain LOAN {\n  step VALIDATE program V with skip;\n}\nprogram V { builtin noop; }\n";
    let f = parse(src);
    let c = chains(&f)[0];
    assert!(at(src, c.span).starts_with("chain LOAN {"));
    assert!(at(src, c.span).ends_with('}'));
    assert_eq!(at(src, c.name.span), "LOAN");
    let s = &c.steps[0];
    assert_eq!(at(src, s.span), "step VALIDATE program V with skip;");
    assert_eq!(at(src, s.name.span), "VALIDATE");
    assert_eq!(at(src, s.attrs.spans[0].1), "skip");
    let p = programs(&f)[0];
    assert_eq!(at(src, p.span), "program V { builtin noop; }");
    assert!(c.span.file == 0 && p.span.file == 0);
    // The file id is carried into every span.
    let f7 = parse_file(7, src).unwrap();
    match &f7.items[0] {
        Item::Chain(c) => assert_eq!(c.steps[0].name.span.file, 7),
        other => panic!("{other:?}"),
    }
}

// ------------------------------------------------------------------ jobs and groups

#[test]
fn jobs_and_groups_every_setting() {
    let f = parse(
        "group \"Ops\".TEAM_1 { max_running 2; }\n\
         group EMPTY { }\n\
         job j1 { chain c1; parameters deptno = '10', \"Region\" = 'eu';\n\
                  parameters run_date = '2024-01-01'; serialize by DeptNo; }\n\
         job J2 { chain C2; schedule '0 2 * * *'; group \"Ops\".team_1; }",
    );
    let groups: Vec<&GroupDecl> = f
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Group(g) => Some(g),
            _ => None,
        })
        .collect();
    assert_eq!(
        groups[0].path.iter().map(name).collect::<Vec<_>>(),
        ["\"Ops\"", "TEAM_1"]
    );
    assert_eq!(groups[1].max_running, None);
    let jobs: Vec<&JobDecl> = f
        .items
        .iter()
        .filter_map(|i| match i {
            Item::Job(j) => Some(j),
            _ => None,
        })
        .collect();
    let j1 = jobs[0];
    assert_eq!(j1.name.name, "J1");
    let params: Vec<(&str, &str)> = j1
        .parameters
        .iter()
        .map(|(k, v)| (k.name.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(
        params,
        [
            ("DEPTNO", "10"),
            ("REGION", "eu"),
            ("RUN_DATE", "2024-01-01")
        ],
        "parameter names are case-insensitive, even quoted"
    );
    assert_eq!(j1.serialize_by.as_ref().unwrap().name, "DEPTNO");
    assert!(!j1.restartable && j1.group.is_none() && j1.schedule.is_none());
    let j2 = jobs[1];
    assert_eq!(j2.schedule.as_ref().unwrap().value, "0 2 * * *");
    assert_eq!(
        j2.group
            .as_ref()
            .unwrap()
            .iter()
            .map(name)
            .collect::<Vec<_>>(),
        ["\"Ops\"", "TEAM_1"]
    );
}

// ------------------------------------------------------------------ standalone entry points

#[test]
fn standalone_condition_and_action() {
    assert_eq!(show(&cond("  A COMPLETED  ")), "A Completed");
    assert_eq!(show_action(&action("START B -- why\n")), "START B");
    assert!(parse_condition(0, "A COMPLETED then START B").is_err());
    assert!(parse_condition(0, "").is_err());
    assert!(parse_action(0, "START").is_err());
    assert!(parse_action(0, "START B; STOP C").is_err());
    assert!(parse_action(0, "AFTER 5s START B").is_err());
}

#[test]
fn many_declarations_in_one_file() {
    let mut src = String::new();
    for i in 0..200 {
        src.push_str(&format!(
            "program P{i} {{ builtin noop; }}\nchain C{i} {{ step S program P{i}; rule when TRUE then START S; rule when S COMPLETED then END; }}\n"
        ));
    }
    let f = parse(&src);
    assert_eq!(f.items.len(), 400);
    assert_eq!(chains(&f)[199].name.name, "C199");
}

// ------------------------------------------------------------------ the reference's examples

/// Every example block of docs/rule-language.md that declares something (or is a list of
/// steps/rules) parses, so the reference cannot drift from the parser.
#[test]
fn examples_in_the_reference_parse() {
    let doc = include_str!("../docs/rule-language.md");
    let mut checked = 0;
    for (i, block) in doc.split("```").enumerate().filter(|(i, _)| i % 2 == 1) {
        let first_word = block
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with("--"))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("")
            .to_ascii_lowercase();
        if block.contains('[') {
            continue; // a syntax template with [optional] parts, not an example
        }
        if first_word == "true" || first_word.starts_with(':') || first_word == "start" {
            // A listing of conditions or actions, several per line, separated by wide gaps.
            for line in block.lines() {
                let line = line.split("--").next().unwrap_or("");
                for piece in line.split("  ").map(str::trim).filter(|p| !p.is_empty()) {
                    if piece.starts_with('(') {
                        continue; // a remark such as "(also != <> ...)"
                    }
                    let ok = if first_word == "start" {
                        parse_action(0, piece).is_ok()
                    } else {
                        parse_condition(0, piece).is_ok()
                    };
                    assert!(
                        ok,
                        "docs/rule-language.md block #{i}: {piece:?} does not parse"
                    );
                    checked += 1;
                }
            }
            continue;
        }
        let text = match first_word.as_str() {
            "program" | "chain" | "job" | "group" => block.to_string(),
            "step" | "rule" => format!("chain EXAMPLE {{\n{block}\n}}"),
            _ => continue,
        };
        if let Err(e) = parse_file(0, &text) {
            panic!("example block #{i} of docs/rule-language.md does not parse:\n{text}\n{e:#?}");
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} example blocks found");
}

// ------------------------------------------------------------------ SQL expressions

#[test]
fn sql_operators_follow_oracle_precedence() {
    let cases = [
        (":A.error_code + 1 * 2 = 3", "(:A.ErrorCode + (1 * 2)) = 3"),
        (
            "(:A.error_code + 1) * 2 = 3",
            "((:A.ErrorCode + 1) * 2) = 3",
        ),
        ("1 - 2 - 3 = 0", "((1 - 2) - 3) = 0"),
        ("8 / 4 / 2 = 1", "((8 / 4) / 2) = 1"),
        ("'a' || 1 + 2 = 'a3'", "(('a' || 1) + 2) = 'a3'"),
        ("-:A.error_code = -5", "-:A.ErrorCode = -5"),
        ("- - 5 = 5", "5 = 5"),
        ("-(1 + 2) = -3", "-(1 + 2) = -3"),
        ("1.5 = .5e1", "1.5 = 5.0"),
        ("2 * -3 = -6", "(2 * -3) = -6"),
        (":A.error_code -1 = 0", "(:A.ErrorCode - 1) = 0"),
    ];
    for (text, shape) in cases {
        assert_eq!(show(&cond(text)), shape, "{text}");
    }
}

#[test]
fn like_between_and_null_literals() {
    let cases = [
        (":A.state LIKE 'SUCC%'", ":A.State LIKE 'SUCC%'"),
        (
            ":A.state NOT LIKE '50\\%' ESCAPE '\\'",
            ":A.State NOT LIKE '50\\%' ESCAPE '\\'",
        ),
        (
            ":A.error_code BETWEEN 1 AND 9",
            ":A.ErrorCode BETWEEN 1 AND 9",
        ),
        (
            ":A.error_code NOT BETWEEN 1 AND 9 AND A FAILED",
            "(:A.ErrorCode NOT BETWEEN 1 AND 9 AND A Failed)",
        ),
        (":A.state = ''", ":A.State = NULL"),
        ("NULL IS NULL", "NULL IS NULL"),
        (
            ":A.error_code IN (1, -2, 3 + 4)",
            ":A.ErrorCode IN [1, -2, (3 + 4)]",
        ),
    ];
    for (text, shape) in cases {
        assert_eq!(show(&cond(text)), shape, "{text}");
    }
}

#[test]
fn functions_case_and_special_syntax() {
    let cases = [
        ("NVL(:A.error_code, 0) = 0", "NVL(:A.ErrorCode, 0) = 0"),
        (
            "decode(:A.state, 'FAILED', 1, 0) = 1",
            "DECODE(:A.State, 'FAILED', 1, 0) = 1",
        ),
        ("TRIM(:A.state) = 'X'", "TRIM_Both(:A.State) = 'X'"),
        (
            "TRIM(LEADING '0' FROM :A.state) = 'X'",
            "TRIM_Leading(:A.State, '0') = 'X'",
        ),
        (
            "TRIM(TRAILING FROM :A.state) = 'X'",
            "TRIM_Trailing(:A.State) = 'X'",
        ),
        (
            "TRIM('x' FROM :A.state) = 'X'",
            "TRIM_Both(:A.State, 'x') = 'X'",
        ),
        (
            "EXTRACT(hour FROM SYSTIMESTAMP) >= 22",
            "EXTRACT_HOUR(SYSTIMESTAMP) >= 22",
        ),
        (
            "CASE WHEN A SUCCEEDED THEN 1 WHEN :B.error_code > 5 THEN 2 ELSE 3 END = 1",
            "CASE WHEN A Succeeded THEN 1 WHEN :B.ErrorCode > 5 THEN 2 ELSE 3 END = 1",
        ),
        (
            "CASE :A.state WHEN 'FAILED' THEN 'f' END IS NULL",
            "CASE :A.State WHEN 'FAILED' THEN 'f' END IS NULL",
        ),
        (
            ":A.end_date > DATE '2024-01-31'",
            ":A.EndDate > DATE(1706659200000)",
        ),
        (
            ":A.end_date > TIMESTAMP '2024-01-31 10:00:00.5'",
            ":A.EndDate > TIMESTAMP(1706695200500)",
        ),
        (
            "SYSDATE - 1/24 > CURRENT_TIMESTAMP(6) - LOCALTIMESTAMP",
            "(SYSDATE - (1 / 24)) > (CURRENT_TIMESTAMP - LOCALTIMESTAMP)",
        ),
        (
            ":A.duration > INTERVAL '1 12:00:00' DAY TO SECOND",
            ":A.Duration > INTERVAL(129600000ms)",
        ),
        (
            ":A.duration > INTERVAL '90' MINUTE(3)",
            ":A.Duration > INTERVAL(5400000ms)",
        ),
        (
            ":A.duration > INTERVAL '-1:30' HOUR TO MINUTE",
            ":A.Duration > -INTERVAL(5400000ms)",
        ),
        (
            ":A.duration > INTERVAL '2.5' SECOND",
            ":A.Duration > INTERVAL(2500ms)",
        ),
        ("NVL ( :A.error_code , 0 ) = 0", "NVL(:A.ErrorCode, 0) = 0"),
    ];
    for (text, shape) in cases {
        assert_eq!(show(&cond(text)), shape, "{text}");
    }
}

#[test]
fn a_parenthesis_holds_a_condition_or_a_value() {
    assert_eq!(
        show(&cond("(A SUCCEEDED OR B FAILED) AND (1 + 1) = 2")),
        "((A Succeeded OR B Failed) AND (1 + 1) = 2)"
    );
    assert_eq!(show(&cond("((1)) = 1")), "1 = 1");
    assert_eq!(
        show(&cond("NOT (1 + 1) = 2")),
        "NOT((1 + 1) = 2)",
        "NOT binds last"
    );
    assert_eq!(
        show(&cond("NOT ((:A.error_code) IS NULL)")),
        "NOT(:A.ErrorCode IS NULL)"
    );
}

#[test]
fn sql_words_stay_usable_as_names() {
    // LIKE, CASE, DATE, TRIM, ... are keywords only inside SQL conditions.
    let f = parse_file(
        0,
        "program P { builtin noop; }\n\
         chain C { step CASE program P; step DATE program P; step TRIM program P;\n\
         rule when CASE SUCCEEDED AND :DATE.state LIKE 'S%' AND TRIM COMPLETED then END; }",
    )
    .expect("parses");
    let Item::Chain(c) = &f.items[1] else {
        panic!("a chain")
    };
    assert_eq!(
        show(&c.rules[0].condition),
        "((CASE Succeeded AND :DATE.State LIKE 'S%') AND TRIM Completed)"
    );
}

#[test]
fn deep_values_parse_within_the_limits() {
    // 200 parentheses around a value, and functions nested 100 deep.
    let deep = format!("{}:A.error_code{} = 1", "(".repeat(200), ")".repeat(200));
    assert_eq!(show(&cond(&deep)), ":A.ErrorCode = 1");
    let nested = format!(
        "{}:A.error_code{} = 1",
        "NVL(".repeat(100),
        ", 0)".repeat(100)
    );
    assert!(show(&cond(&nested)).starts_with("NVL(NVL("));
}

#[test]
fn job_attributes_named_schedules_and_event_based_jobs() {
    let f = parse(
        "schedule NIGHTLY 'FREQ=DAILY;BYHOUR=2';\n\
         job J {\n\
           chain C;\n\
           schedule NIGHTLY;\n\
           time_zone 'Europe/Paris';\n\
           start_date '2026-03-01 09:00';\n\
           end_date '2026-12-31';\n\
           enabled false;\n\
           max_runs 10;\n\
           max_failures 3;\n\
           comment 'the nightly load';\n\
         }\n\
         job E { chain C; on event FILE_ARRIVED where name = 'sales.csv'; }\n",
    );
    let Item::Schedule(s) = &f.items[0] else {
        panic!("a named schedule first")
    };
    assert_eq!(
        (s.name.name.as_str(), s.text.value.as_str()),
        ("NIGHTLY", "FREQ=DAILY;BYHOUR=2")
    );
    let Item::Job(j) = &f.items[1] else {
        panic!("a job")
    };
    assert_eq!(
        j.schedule.as_ref().map(|s| s.value.as_str()),
        Some("NIGHTLY")
    );
    assert_eq!(
        j.time_zone.as_ref().map(|s| s.value.as_str()),
        Some("Europe/Paris")
    );
    assert_eq!(
        j.start_date.as_ref().map(|s| s.value.as_str()),
        Some("2026-03-01 09:00")
    );
    assert_eq!(
        j.end_date.as_ref().map(|s| s.value.as_str()),
        Some("2026-12-31")
    );
    assert_eq!(j.enabled, Some(false));
    assert_eq!((j.max_runs, j.max_failures), (Some(10), Some(3)));
    assert_eq!(
        j.comment.as_ref().map(|s| s.value.as_str()),
        Some("the nightly load")
    );
    let Item::Job(e) = &f.items[2] else {
        panic!("a job")
    };
    let ev = e.on_event.as_ref().expect("on event");
    assert_eq!(ev.name.name, "FILE_ARRIVED");
    assert_eq!(
        show_payload(ev.condition.as_ref().expect("a condition")),
        show_payload(
            &match parse("chain X { step W event E where name = 'sales.csv'; }").items[0].clone() {
                Item::Chain(c) => match &c.steps[0].kind {
                    StepKind::Event {
                        condition: Some(c), ..
                    } => c.clone(),
                    other => panic!("{other:?}"),
                },
                _ => panic!("a chain"),
            }
        )
    );
}

#[test]
fn job_variables_in_both_condition_syntaxes() {
    let cases = [
        ("VAR(REGION) = 'EU'", "VAR(REGION) = 'EU'"),
        ("var(region)='EU'", "VAR(REGION) = 'EU'"),
        (":VAR.region = 'US'", "VAR(REGION) = 'US'"),
        (":var.\"Rows\" > 1000", "VAR(ROWS) > 1000"),
        (
            "A SUCCEEDED AND VAR(MODE) IS NULL",
            "(A Succeeded AND VAR(MODE) IS NULL)",
        ),
        ("NVL(:VAR.N, 0) + 1 = 2", "(NVL(VAR(N), 0) + 1) = 2"),
        // A step named VAR is still reachable, quoted.
        (":\"VAR\".state = 'FAILED'", ":\"VAR\".State = 'FAILED'"),
    ];
    for (text, shape) in cases {
        assert_eq!(show(&cond(text)), shape, "{text}");
    }
    let f = parse("program P { builtin noop; sets region, \"Rows\"; }");
    let names: Vec<&str> = programs(&f)[0]
        .sets
        .iter()
        .map(|v| v.name.as_str())
        .collect();
    assert_eq!(names, ["REGION", "ROWS"]);
}
