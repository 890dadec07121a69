//! `GET /openapi.json`: the HTTP API described (OpenAPI 3.1), generated from the view row
//! columns so the description cannot drift from what the handlers return.

use crate::views::{
    ChainRow, ChainRuleRow, ChainStepRow, ExplainRuleRow, JobLogRow, JobRow, RunDetailsRow,
    RunningChainRow, StatsRow, TimelineRow, ViewRow,
};
use serde_json::{json, Map, Value};

fn row_schema<T: ViewRow>() -> Value {
    let props: Map<String, Value> = T::COLUMNS
        .iter()
        .map(|c| {
            (
                c.to_ascii_lowercase(),
                json!({ "description": format!("{c} (docs/views.md)") }),
            )
        })
        .collect();
    json!({ "type": "object", "properties": props,
            "required": T::COLUMNS.iter().map(|c| c.to_ascii_lowercase()).collect::<Vec<_>>() })
}

fn list(schema: &str) -> Value {
    json!({ "200": { "description": "rows", "content": { "application/json": {
        "schema": { "type": "array", "items": { "$ref": format!("#/components/schemas/{schema}") } } } } } })
}

fn one(schema: &str) -> Value {
    json!({ "200": { "description": "one row", "content": { "application/json": {
        "schema": { "$ref": format!("#/components/schemas/{schema}") } } } },
        "404": { "$ref": "#/components/responses/Error" } })
}

fn q(name: &str, desc: &str) -> Value {
    json!({ "name": name, "in": "query", "required": false, "schema": { "type": "string" }, "description": desc })
}

fn p(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
}

fn post(summary: &str, body: Value, ok: Value) -> Value {
    json!({ "post": { "summary": summary, "security": [{ "bearer": [] }],
        "requestBody": { "required": false, "content": { "application/json": { "schema": body } } },
        "responses": { "200": { "description": "done", "content": { "application/json": { "schema": ok } } },
            "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" },
            "404": { "$ref": "#/components/responses/Error" }, "409": { "$ref": "#/components/responses/Error" } } } })
}

/// `/api/v1/events`: raise an event (POST), the kept events (GET).
fn events_path() -> Value {
    let s = |t: &str| json!({ "type": t });
    let body = json!({ "type": "object", "required": ["name"], "properties": {
        "name": s("string"), "job": s("string"), "payload": { "type": ["object", "null"] },
        "keep": { "type": "string", "description": "a duration: 30s, 10m, 1h30m" } } });
    let ok = json!({ "type": "object", "properties": {
        "completed_steps": s("integer"), "waiting_steps": s("integer"),
        "unmatched": { "type": "array", "items": s("string") },
        "kept": { "type": ["object", "null"], "properties": { "event_id": s("integer"), "expires_at": s("string") } },
        "message": s("string") } });
    let mut item = post("raise an event: a name no chain declares, a payload that is not an object or a bad keep are refused (400); when it completes no waiting step the answer says why, and with keep it is kept that long for a step that starts waiting later", body, ok);
    item["get"] = json!({ "summary": "kept events: event_id, event_name, job_name, payload, raised_at, expires_at (extension; event … --keep)",
        "responses": { "200": { "description": "a list", "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object" } } } } } } });
    item
}

/// Every answer an operation can give besides its own, added to each operation so that the
/// document lists them all (the contract test in tests/server_api.rs sends requests to every
/// route and checks each status against this): path parameters are declared, every request
/// body refuses unknown members (`additionalProperties: false`, as the handlers do).
fn complete(doc: &mut Value) {
    let err = || json!({ "$ref": "#/components/responses/Error" });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let names: Vec<String> = path
            .split('{')
            .skip(1)
            .filter_map(|r| r.split_once('}').map(|(n, _)| n.to_string()))
            .collect();
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let params = op.entry("parameters").or_insert_with(|| json!([]));
            if let Some(list) = params.as_array_mut() {
                for n in &names {
                    if !list
                        .iter()
                        .any(|x| x["name"] == n.as_str() && x["in"] == "path")
                    {
                        list.insert(0, p(n));
                    }
                }
                if list.is_empty() {
                    op.remove("parameters");
                }
            }
            let mut codes: Vec<&str> = Vec::new();
            if path.starts_with("/api/") {
                codes.extend(["400", "429"]);
                if !names.is_empty() {
                    codes.push("404");
                }
            }
            if method == "post" {
                codes.extend(["400", "401", "403", "404", "409", "413", "422", "503"]);
            }
            if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
                for c in codes {
                    responses.entry(c).or_insert_with(err);
                }
            }
            let schema = op
                .get_mut("requestBody")
                .and_then(|b| b.pointer_mut("/content/application~1json/schema"));
            if let Some(schema) = schema {
                if let Some(o) = schema.as_object_mut() {
                    o.insert("additionalProperties".into(), json!(false));
                }
            }
        }
    }
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut doc = base();
    complete(&mut doc);
    doc
}

fn base() -> Value {
    let s = |t: &str| json!({ "type": t });
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": { "title": "chainsched", "version": env!("CARGO_PKG_VERSION"),
                  "description": "The HTTP API of `chainsched serve`. Rows are the views of views.md with lower-case column names; times RFC 3339 UTC; durations seconds. Errors: {\"error\":{\"code\",\"message\"}}. Request bodies are JSON objects; unknown members are refused (400). An unknown route answers 404, a known route with another method 405." },
        "paths": {
            "/": { "get": { "summary": "the web dashboard", "responses": { "200": { "description": "HTML" } } } },
            "/healthz": { "get": { "summary": "liveness: {\"status\":\"ok\"} while the engine acts", "responses": { "200": { "description": "ok" }, "503": { "description": "{\"status\":\"unavailable\",\"reasons\":[...]}" } } } },
            "/readyz": { "get": { "summary": "readiness: alive, the store answers, not shutting down", "responses": { "200": { "description": "ok" }, "503": { "description": "{\"status\":\"unavailable\",\"reasons\":[...]}" } } } },
            "/metrics": { "get": { "summary": "Prometheus text: jobs by state, step starts, evaluation latency", "responses": { "200": { "description": "text/plain" } } } },
            "/openapi.json": { "get": { "summary": "this document", "responses": { "200": { "description": "OpenAPI" } } } },
            "/api/v1/jobs": {
                "get": { "summary": "jobs view (newest first)", "parameters": [q("state", "comma-separated job states"), q("chain", "chain name"), q("limit", "at most this many"), q("since", "RFC 3339"), q("until", "RFC 3339")], "responses": list("JobRow") },
                "post": { "summary": "start a chain job", "security": [{ "bearer": [] }],
                    "parameters": [{ "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "maxLength": 255 }, "description": "the same key and body again get the first answer (header Idempotent-Replayed: true)" }],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "properties": {
                        "chain": s("string"), "job": s("string"), "parameters": { "type": "object", "additionalProperties": { "type": ["string", "number", "boolean"] }, "description": "numbers are kept as written" },
                        "start_steps": { "type": "array", "items": s("string") },
                        "definition": { "type": "string", "description": "a job definition: its chain (when none is given), parameter defaults, group, serialize by" },
                        "group": { "type": "string", "description": "resource group of an ad-hoc run" },
                        "requested_by": { "type": "string", "description": "who asks (the jobs view's REQUESTED_BY)" },
                        "replace": { "type": "boolean", "description": "start even when `job` names an ended job (its rows are replaced); refused (409) otherwise" },
                        "step_states": { "type": "object", "additionalProperties": { "type": "string", "description": "SUCCEEDED, NOT_STARTED or 'FAILED n'" } } } } } } },
                    "responses": { "201": { "description": "started", "content": { "application/json": { "schema": { "type": "object", "properties": { "job": s("string") } } } } },
                        "400": { "$ref": "#/components/responses/Error" }, "401": { "$ref": "#/components/responses/Error" }, "404": { "$ref": "#/components/responses/Error" }, "409": { "$ref": "#/components/responses/Error" } } } },
            "/api/v1/jobs/{job}": { "get": { "summary": "one job row", "parameters": [p("job")], "responses": one("JobRow") } },
            "/api/v1/jobs/{job}/steps": { "get": { "summary": "running_chains rows of the job (nested included); empty once the job has ended unless history=true", "parameters": [p("job"), q("history", "true: also for a job that is not running")], "responses": list("RunningChainRow") } },
            "/api/v1/jobs/{job}/timeline": { "get": { "summary": "timeline rows", "parameters": [p("job")], "responses": list("TimelineRow") } },
            "/api/v1/jobs/{job}/explain": { "get": { "summary": "explain view", "parameters": [p("job")], "responses": one("Explanation") } },
            "/api/v1/jobs/{job}/stop": post("stop a job or one step", json!({ "type": "object", "properties": { "step": s("string") } }), json!({ "type": "object" })),
            "/api/v1/jobs/{job}/alter": post("alter a running chain", json!({ "type": "object", "properties": { "step": s("string"), "pause": s("boolean"), "pause_before": s("boolean"), "skip": s("boolean"), "state": s("string"), "restart_on_failure": s("boolean"), "restart_on_recovery": s("boolean"), "timeout": s("string"), "evaluate": s("boolean") } }), json!({ "type": "object" })),
            "/api/v1/jobs/{job}/evaluate": post("evaluate a running chain", json!({ "type": "object" }), json!({ "type": "object" })),
            "/api/v1/jobs/{job}/restart": post("restart an ended FAILED or STOPPED job in place: the steps `from` (default: the FAILED and STOPPED ones) and the steps their rules start run again, SUCCEEDED steps are kept, with the current definitions; 409 for a job that is running or SUCCEEDED", json!({ "type": "object", "additionalProperties": false, "properties": { "from": { "type": "array", "items": s("string") } } }), json!({ "type": "object", "properties": { "job": s("string"), "restarted": s("boolean"), "state": s("string") } })),
            "/api/v1/running_chains": { "get": { "summary": "running_chains rows of every running or stalled job", "responses": list("RunningChainRow") } },
            "/api/v1/log": { "get": { "summary": "job_log rows in log-id order", "parameters": [q("job", "job name"), q("chain", "chain name"), q("since_id", "rows after this log id"), q("limit", "at most this many (the most recent without since_id)"), q("since", "RFC 3339"), q("until", "RFC 3339")], "responses": list("JobLogRow") } },
            "/api/v1/log/{log_id}": { "get": { "summary": "job_run_details row", "parameters": [p("log_id")], "responses": one("RunDetailsRow") } },
            "/api/v1/stats": { "get": { "summary": "stats rows", "parameters": [q("chain", "chain name")], "responses": list("StatsRow") } },
            "/api/v1/chains": { "get": { "summary": "chains view", "responses": list("ChainRow") } },
            "/api/v1/programs": { "get": { "summary": "programs view", "responses": list("ProgramRow") } },
            "/api/v1/chains/{chain}/steps": { "get": { "summary": "chain_steps view", "parameters": [p("chain")], "responses": list("ChainStepRow") } },
            "/api/v1/chains/{chain}/rules": { "get": { "summary": "chain_rules view", "parameters": [p("chain")], "responses": list("ChainRuleRow") } },
            "/api/v1/chains/{chain}/graph.svg": { "get": { "summary": "the chain drawn (image/svg+xml), laid out as `chainsched graph --format svg` draws it", "parameters": [p("chain"), q("collapse", "nested chains to draw as their step alone: comma-separated step subnames, * for all")], "responses": { "200": { "description": "SVG" }, "404": { "$ref": "#/components/responses/Error" } } } },
            "/api/v1/engines": { "get": { "summary": "engines sharing the database: engine_id, slot, host, pid, role, address, started, last_heartbeat, heartbeat_age, alive, jobs_owned (extension; empty on a store one engine owns)", "responses": { "200": { "description": "a list", "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object" } } } } } } } },
            "/api/v1/schedules": { "get": { "summary": "scheduled and event-based job definitions: job_name, chain_name, schedule, time_zone, start_date, end_date, enabled, state, next_run_date, last_start_date, run_count, failure_count, skipped_count (extension)", "responses": { "200": { "description": "a list", "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object" } } } } } } } },
            "/api/v1/events/stream": { "get": { "summary": "server-sent events: job, step, progress and log changes (event names job, step, progress, log)", "parameters": [q("job", "only this job")], "responses": { "200": { "description": "text/event-stream" } } } },
            "/api/v1/events": events_path(),
            "/api/v1/reload": post("reload the rule folder; a catalog with errors is refused (422, diagnostics) and the old one kept", json!({ "type": "object" }), json!({ "type": "object" }))
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "responses": { "Error": { "description": "an error", "content": { "application/json": { "schema": { "type": "object", "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": { "code": s("string"), "message": s("string") } } } } } } } },
            "schemas": {
                "JobRow": row_schema::<JobRow>(),
                "RunningChainRow": row_schema::<RunningChainRow>(),
                "JobLogRow": row_schema::<JobLogRow>(),
                "RunDetailsRow": row_schema::<RunDetailsRow>(),
                "TimelineRow": row_schema::<TimelineRow>(),
                "ChainRow": row_schema::<ChainRow>(),
                "ProgramRow": row_schema::<crate::views::ProgramRow>(),
                "ChainStepRow": row_schema::<ChainStepRow>(),
                "ChainRuleRow": row_schema::<ChainRuleRow>(),
                "StatsRow": row_schema::<StatsRow>(),
                "ExplainRuleRow": row_schema::<ExplainRuleRow>(),
                "Explanation": { "type": "object", "properties": { "job_name": s("string"), "chain_name": s("string"), "state": s("string"), "reason": { "type": ["string", "null"] }, "rules": { "type": "array", "items": { "$ref": "#/components/schemas/ExplainRuleRow" } } } }
            }
        }
    });
    // The chain changes (one json! for everything would pass the macro's recursion limit).
    let chains = json!({
        "/api/v1/chains/{chain}/rules/define": post("define (add or replace) a rule of a chain: catalog and running jobs", json!({ "type": "object", "required": ["rule"], "properties": { "rule": s("string") } }), json!({ "type": "object" })),
        "/api/v1/chains/{chain}/rules/{rule}/drop": post("drop a rule of a chain: catalog and running jobs", json!({ "type": "object" }), json!({ "type": "object" })),
        "/api/v1/chains/{chain}/steps/{step}/alter": post("alter a step of a chain: catalog and running jobs", json!({ "type": "object", "properties": { "pause": s("boolean"), "pause_before": s("boolean"), "skip": s("boolean"), "restart_on_failure": s("boolean"), "restart_on_recovery": s("boolean"), "timeout": s("string") } }), json!({ "type": "object" })),
        "/api/v1/chains/{chain}/steps/{step}/drop": post("drop a step of a chain (future runs)", json!({ "type": "object", "properties": { "force": s("boolean") } }), json!({ "type": "object" })),
        "/api/v1/schedules/{job}/enable": post("enable a job definition: the scheduler and events start it again (durable)", json!({ "type": "object" }), json!({ "type": "object", "properties": { "job": s("string"), "enabled": s("boolean") } })),
        "/api/v1/schedules/{job}/disable": post("disable a job definition: the scheduler and events do not start it (durable)", json!({ "type": "object" }), json!({ "type": "object", "properties": { "job": s("string"), "enabled": s("boolean") } }))
    });
    if let (Some(paths), Value::Object(more)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), chains)
    {
        paths.extend(more);
    }
    apex_paths(&mut doc);
    add_pictures(&mut doc);
    doc
}

/// The APEX routes (`super::apex`) and their row schemas.
fn apex_paths(doc: &mut Value) {
    use crate::views::apex::{ExecutionRow, NotificationRow, StatsByRow};
    let s = |t: &str| json!({ "type": t });
    let paths = json!({
        "/api/v1/executions": { "get": { "summary": "executions view: jobs with APEX status names (ENQUEUED, SCHEDULED, EXECUTING, SUCCESS, FAILED, ABORTED), progress, queue wait", "parameters": [q("state", "comma-separated job states"), q("status", "comma-separated APEX statuses"), q("chain", "chain name"), q("limit", "at most this many (default 100)")], "responses": list("ExecutionRow") } },
        "/api/v1/notifications": { "get": { "summary": "notifications view: the outbox of `notify` declarations, newest first", "parameters": [q("job", "job name"), q("status", "PENDING, SENT, FAILED, SKIPPED (comma-separated)"), q("limit", "at most this many (default 100)")], "responses": list("NotificationRow") } },
        "/api/v1/stats/by/{by}": { "get": { "summary": "averages of run and queue time of ended jobs per job definition (by=definition) or resource group (by=group)", "parameters": [p("by"), q("chain", "chain name")], "responses": list("StatsByRow") } },
        "/api/v1/chains/{chain}/jobs/stop": post("stop every unfinished job of a chain in the given states; without confirm nothing changes and the answer counts them", json!({ "type": "object", "required": ["state"], "properties": { "state": s("string"), "confirm": s("boolean") } }), json!({ "type": "object", "properties": { "matched": s("integer"), "stopped": s("integer"), "confirmed": s("boolean"), "jobs": { "type": "array", "items": s("string") } } }))
    });
    if let (Some(p), Value::Object(more)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), paths)
    {
        p.extend(more);
    }
    if let Some(post) = doc
        .pointer_mut("/paths/~1api~1v1~1jobs/post/parameters")
        .and_then(Value::as_array_mut)
    {
        post.push(q("wait", "idle or end: answer at the job's next break point (members reached, timed_out, state, error_code, waiting are added)"));
        post.push(q(
            "timeout",
            "with wait: the longest wait (default 30s, at most 1h)",
        ));
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert("ExecutionRow".into(), row_schema::<ExecutionRow>());
        schemas.insert("NotificationRow".into(), row_schema::<NotificationRow>());
        schemas.insert("StatsByRow".into(), row_schema::<StatsByRow>());
    }
}

/// The data behind the dashboard's pictures (src/server/pictures.rs, docs/dashboard.md).
fn add_pictures(doc: &mut Value) {
    let s = |t: &str| json!({ "type": t });
    let obj = |schema: &str| {
        json!({ "200": { "description": "one object", "content": { "application/json": {
            "schema": { "$ref": format!("#/components/schemas/{schema}") } } } } })
    };
    let paths = json!({
        "/api/v1/jobs/{job}/gantt": { "get": { "summary": "every run of every step of the job on a time axis (retries and recovery runs are bars of their own), with queue waits, AFTER delays, the rule that started each step and the critical path", "parameters": [p("job")], "responses": obj("Gantt") } },
        "/api/v1/chains/{chain}/history": { "get": { "summary": "the chain's last N finished runs (oldest first) with success rate, p50/p90 run duration, average wait, and each step's durations over the same runs (`chainsched stats --chain C --runs N`)", "parameters": [p("chain"), q("runs", "how many runs (1 to 10000, default 50)")], "responses": obj("ChainHistory") } },
        "/api/v1/overview": { "get": { "summary": "jobs running, queued, stalled now; ended in the last 24 hours by outcome and hour; each resource group with its limit, running and queued jobs", "responses": obj("Overview") } }
    });
    let bar = json!({ "type": "object", "properties": {
        "step_job_subname": s("string"), "run": s("integer"), "operation": { "type": ["string", "null"] },
        "state": s("string"), "scheduled_date": { "type": ["string", "null"] }, "requested_date": { "type": ["string", "null"] },
        "actual_start_date": { "type": ["string", "null"] }, "end_date": { "type": ["string", "null"] },
        "error_code": { "type": ["integer", "null"] }, "rule_name": { "type": ["string", "null"] },
        "critical": s("boolean"), "log_id": { "type": ["integer", "null"] } } });
    let row = json!({ "type": "object", "properties": {
        "step_job_subname": s("string"), "parent_subname": { "type": ["string", "null"] }, "depth": s("integer"),
        "chain_name": s("string"), "step_name": s("string"), "kind": s("string"), "state": s("string") } });
    let num = || json!({ "type": ["number", "null"] });
    let schemas = json!({
        "Gantt": { "type": "object", "properties": {
            "job_name": s("string"), "chain_name": s("string"), "state": s("string"), "start_date": s("string"),
            "end_date": { "type": ["string", "null"] }, "now": s("string"),
            "rows": { "type": "array", "items": row }, "bars": { "type": "array", "items": bar } } },
        "ChainHistory": { "type": "object", "properties": {
            "chain_name": s("string"), "runs_asked": s("integer"), "run_count": s("integer"), "succeeded": s("integer"),
            "failed": s("integer"), "stopped": s("integer"), "success_rate": num(), "avg_run_duration": num(),
            "p50_run_duration": num(), "p90_run_duration": num(), "avg_wait_duration": num(),
            "runs": { "type": "array", "items": { "type": "object", "properties": {
                "job_name": s("string"), "state": s("string"), "error_code": { "type": ["integer", "null"] },
                "start_date": s("string"), "end_date": { "type": ["string", "null"] }, "run_duration": num(), "wait_duration": num() } } },
            "steps": { "type": "array", "items": { "type": "object", "properties": {
                "step_job_subname": s("string"), "runs": s("integer"), "succeeded": s("integer"), "failed": s("integer"),
                "avg_run_duration": num(), "p50_run_duration": num(), "p90_run_duration": num(),
                "durations": { "type": "array", "items": num(), "description": "one per run, in the order of runs; null: the step did not run there" } } } } } },
        "Overview": { "type": "object", "properties": {
            "now": s("string"), "running": s("integer"), "queued": s("integer"), "stalled": s("integer"),
            "succeeded_24h": s("integer"), "failed_24h": s("integer"), "stopped_24h": s("integer"),
            "hours": { "type": "array", "items": { "type": "object", "properties": {
                "hour": s("string"), "succeeded": s("integer"), "failed": s("integer"), "stopped": s("integer") } } },
            "groups": { "type": "array", "items": { "type": "object", "properties": {
                "group_name": s("string"), "max_running": { "type": ["integer", "null"] }, "running": s("integer"), "queued": s("integer") } } } } }
    });
    if let (Some(target), Value::Object(more)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), paths)
    {
        target.extend(more);
    }
    if let (Some(target), Value::Object(more)) = (
        doc.pointer_mut("/components/schemas")
            .and_then(Value::as_object_mut),
        schemas,
    ) {
        target.extend(more);
    }
}
