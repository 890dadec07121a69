//! Executors driven directly (no core): real processes, exit codes, `::error-code`, progress
//! and status lines, timeouts, stopping a process tree, signals, handlers and builtins.

use chainsched::catalog::{Builtin, Program, ProgramKind};
use chainsched::core::types::Outcome;
use chainsched::runtime::clock::EngineClock;
use chainsched::runtime::executor::{
    self, Capture, ExecEnv, ExecEvent, HandlerRegistry, Launcher, StepLaunch, StopHandle,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn program(kind: ProgramKind) -> Program {
    Program {
        name: "P".into(),
        kind,
        arguments: vec![],
        environment: vec![],
        working_directory: None,
        timeout: None,
        sets: vec![],
        source: "test:1".into(),
    }
}

fn shell(cmd: &str) -> Program {
    program(ProgramKind::Shell(cmd.into()))
}

struct Harness {
    env: ExecEnv,
    rx: mpsc::UnboundedReceiver<ExecEvent>,
}

fn harness(handlers: HandlerRegistry) -> Harness {
    let (tx, rx) = mpsc::unbounded_channel();
    let env = ExecEnv {
        clock: EngineClock::new(1.0),
        launcher: Launcher::start().unwrap(),
        store_id: "test".into(),
        handlers,
        kill_grace: Duration::from_millis(500),
        report: Arc::new(move |e| {
            let _ = tx.send(e);
        }),
    };
    Harness { env, rx }
}

fn launch(h: &Harness, program: Program, params: &[(&str, &str)]) -> StopHandle {
    executor::launch(
        &h.env,
        StepLaunch {
            job: "J".into(),
            subname: "S".into(),
            attempt: 1,
            program,
            parameters: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        },
    )
}

/// Wait for the Finished event; collect the others.
async fn finish(h: &mut Harness) -> (Outcome, Capture, Vec<ExecEvent>) {
    let mut others = Vec::new();
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(20), h.rx.recv())
            .await
            .expect("executor did not finish in time")
            .expect("channel closed");
        match ev {
            ExecEvent::Finished {
                outcome, capture, ..
            } => return (outcome, capture, others),
            other => others.push(other),
        }
    }
}

async fn run_one(program: Program) -> (Outcome, Capture, Vec<ExecEvent>) {
    let mut h = harness(HandlerRegistry::default());
    let _stop = launch(&h, program, &[]);
    finish(&mut h).await
}

#[tokio::test]
async fn exit_zero_succeeds_and_output_is_kept() {
    let (o, c, _) = run_one(shell("echo hello; echo oops >&2")).await;
    assert_eq!(o, Outcome::Succeeded);
    assert_eq!(c.output, "hello\n");
    assert_eq!(c.errors, "oops\n");
    assert!(c.pid.is_some());
}

#[tokio::test]
async fn a_nonzero_exit_is_its_error_code() {
    let (o, _, _) = run_one(shell("exit 3")).await;
    assert_eq!(o, Outcome::Failed(3));
}

#[tokio::test]
async fn an_error_code_line_overrides_the_exit_status() {
    let (o, c, _) = run_one(shell("echo '::error-code 20100'; echo after; exit 1")).await;
    assert_eq!(o, Outcome::Failed(20100));
    assert_eq!(c.output, "after\n", "control lines are not kept as output");
}

#[tokio::test]
async fn an_error_code_line_does_not_fail_a_successful_exit() {
    let (o, _, _) = run_one(shell("echo '::error-code 20100'; exit 0")).await;
    assert_eq!(o, Outcome::Succeeded);
}

#[tokio::test]
async fn progress_and_status_lines_are_reported() {
    let (o, c, events) = run_one(shell(
        "echo '::progress 3/10 loading'; echo '::status almost'; echo done",
    ))
    .await;
    assert_eq!(o, Outcome::Succeeded);
    assert_eq!(c.output, "done\n");
    let progress: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ExecEvent::Progress {
                sofar,
                totalwork,
                message,
                ..
            } => Some((*sofar, *totalwork, message.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress,
        vec![
            (Some(3), Some(10), Some("loading".to_string())),
            (None, None, Some("almost".to_string()))
        ]
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, ExecEvent::Spawned { .. })));
}

#[tokio::test]
async fn a_timeout_fails_with_124() {
    let mut p = shell("sleep 30");
    p.timeout = Some(300);
    let started = Instant::now();
    let (o, c, _) = run_one(p).await;
    assert_eq!(o, Outcome::Failed(124));
    assert!(c.errors.contains("timed out"), "{}", c.errors);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn killed_by_a_signal_is_128_plus_the_signal() {
    let (o, _, _) = run_one(shell("kill -9 $$")).await;
    assert_eq!(o, Outcome::Failed(137));
    let (o, _, _) = run_one(shell("kill -15 $$")).await;
    assert_eq!(o, Outcome::Failed(143));
}

fn alive(pid: i32) -> bool {
    // A zombie still "exists" for kill(0): check /proc state instead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s
            .rsplit(')')
            .next()
            .map(|r| r.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

#[tokio::test]
async fn stopping_kills_the_whole_process_tree() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let mut h = harness(HandlerRegistry::default());
    let stop = launch(
        &h,
        shell(&format!(
            "sleep 60 & echo $! > {}; trap '' TERM; wait",
            pidfile.display()
        )),
        &[],
    );
    // Wait for the grandchild to exist.
    let deadline = Instant::now() + Duration::from_secs(10);
    let child_pid: i32 = loop {
        if let Ok(t) = std::fs::read_to_string(&pidfile) {
            if let Ok(p) = t.trim().parse() {
                break p;
            }
        }
        assert!(Instant::now() < deadline, "grandchild never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(alive(child_pid));
    stop.stop();
    let (o, _, _) = finish(&mut h).await;
    assert_eq!(o, Outcome::Stopped);
    // The shell ignores SIGTERM: SIGKILL after the grace period ends the whole group.
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(child_pid) {
        assert!(
            Instant::now() < deadline,
            "grandchild {child_pid} survived the stop"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn executable_arguments_take_job_parameters() {
    let mut p = program(ProgramKind::Executable("/bin/echo".into()));
    p.arguments = vec!["--date".into(), "${run_date}".into()];
    p.environment = vec![("REGION".into(), "EU".into())];
    let mut h = harness(HandlerRegistry::default());
    let _s = launch(&h, p, &[("RUN_DATE", "2024-05-01")]);
    let (o, c, _) = finish(&mut h).await;
    assert_eq!(o, Outcome::Succeeded);
    assert_eq!(c.output, "--date 2024-05-01\n");

    let mut p = program(ProgramKind::Executable("/bin/sh".into()));
    p.arguments = vec!["-c".into(), "echo $REGION; pwd".into()];
    p.environment = vec![("REGION".into(), "EU".into())];
    p.working_directory = Some("/tmp".into());
    let _s = launch(&h, p, &[]);
    let (o, c, _) = finish(&mut h).await;
    assert_eq!(o, Outcome::Succeeded);
    assert_eq!(c.output, "EU\n/tmp\n");
}

#[tokio::test]
async fn a_missing_executable_fails_with_127_and_says_why() {
    let (o, c, _) = run_one(program(ProgramKind::Executable(
        "/nonexistent/program".into(),
    )))
    .await;
    assert_eq!(o, Outcome::Failed(127));
    assert!(c.errors.contains("cannot start program P"), "{}", c.errors);
}

#[tokio::test]
async fn builtins_behave_as_documented() {
    assert_eq!(
        run_one(program(ProgramKind::Builtin(Builtin::Noop)))
            .await
            .0,
        Outcome::Succeeded
    );
    assert_eq!(
        run_one(program(ProgramKind::Builtin(Builtin::Fail(20001))))
            .await
            .0,
        Outcome::Failed(20001)
    );
    let started = Instant::now();
    assert_eq!(
        run_one(program(ProgramKind::Builtin(Builtin::Sleep(200))))
            .await
            .0,
        Outcome::Succeeded
    );
    assert!(started.elapsed() >= Duration::from_millis(190));
}

#[tokio::test]
async fn handlers_report_progress_and_notice_cancellation() {
    let handlers = HandlerRegistry::default();
    let saw_cancel = Arc::new(Mutex::new(false));
    let flag = saw_cancel.clone();
    handlers.register("count", |ctx| async move {
        ctx.progress(1, 2, Some("half"));
        ctx.status("working");
        if ctx.parameter("mode") == Some("fail") {
            return Outcome::Failed(42);
        }
        Outcome::Succeeded
    });
    handlers.register("forever", move |ctx| {
        let flag = flag.clone();
        async move {
            ctx.cancelled().await;
            *flag.lock().unwrap() = true;
            Outcome::Succeeded
        }
    });
    let mut h = harness(handlers);
    let _s = launch(&h, program(ProgramKind::Handler("count".into())), &[]);
    let (o, _, events) = finish(&mut h).await;
    assert_eq!(o, Outcome::Succeeded);
    assert_eq!(events.len(), 2);

    let _s = launch(
        &h,
        program(ProgramKind::Handler("count".into())),
        &[("MODE", "fail")],
    );
    assert_eq!(finish(&mut h).await.0, Outcome::Failed(42));

    let stop = launch(&h, program(ProgramKind::Handler("forever".into())), &[]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.stop();
    assert_eq!(finish(&mut h).await.0, Outcome::Stopped);
    assert!(*saw_cancel.lock().unwrap());

    let _s = launch(&h, program(ProgramKind::Handler("nobody".into())), &[]);
    let (o, c, _) = finish(&mut h).await;
    assert_eq!(o, Outcome::Failed(127));
    assert!(c.errors.contains("nobody"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_set_variables_and_bad_names_are_refused() {
    let handlers = HandlerRegistry::default();
    handlers.register("sets", |ctx| async move {
        assert_eq!(
            ctx.parameter("region"),
            Some("US"),
            "variables arrive as parameters"
        );
        ctx.set_variable("region", "EU").unwrap();
        ctx.set_variable("rows", "12").unwrap();
        let bad = ctx.set_variable("9lives", "x").unwrap_err();
        assert!(bad.contains("not a variable name"), "{bad}");
        assert!(ctx.set_variable("A", "x\0y").is_err());
        Outcome::Failed(3)
    });
    let mut h = harness(handlers);
    let _s = launch(
        &h,
        program(ProgramKind::Handler("sets".into())),
        &[("REGION", "US")],
    );
    let (o, c, _) = finish(&mut h).await;
    assert_eq!(o, Outcome::Failed(3));
    assert_eq!(
        c.variables,
        vec![
            ("REGION".to_string(), "EU".to_string()),
            ("ROWS".into(), "12".into())
        ],
        "a failed attempt's variables are reported too"
    );

    // A shell step: `::set` lines, parameters in the environment, the program's own
    // environment winning over a parameter of the same name.
    let mut p = shell(r#"echo "::set OUT=$IN-$MODE"; echo plain"#);
    p.environment = vec![("MODE".into(), "program".into())];
    let _s = launch(&h, p, &[("IN", "a b"), ("MODE", "param")]);
    let (o, c, _) = finish(&mut h).await;
    assert_eq!(o, Outcome::Succeeded);
    assert_eq!(
        c.variables,
        vec![("OUT".to_string(), "a b-program".to_string())]
    );
    assert_eq!(c.output, "plain\n");
}
