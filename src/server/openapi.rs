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
                json!({ "description": format!("{c} (views.md)") }),
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
            "/api/v1/chains/{chain}/steps": { "get": { "summary": "chain_steps view", "parameters": [p("chain")], "responses": list("ChainStepRow") } },
            "/api/v1/chains/{chain}/rules": { "get": { "summary": "chain_rules view", "parameters": [p("chain")], "responses": list("ChainRuleRow") } },
            "/api/v1/chains/{chain}/graph.svg": { "get": { "summary": "the chain drawn (image/svg+xml)", "parameters": [p("chain")], "responses": { "200": { "description": "SVG" }, "404": { "$ref": "#/components/responses/Error" } } } },
            "/api/v1/engines": { "get": { "summary": "engines sharing the database: engine_id, slot, host, pid, role, address, started, last_heartbeat, heartbeat_age, alive, jobs_owned (extension; empty on a store one engine owns)", "responses": { "200": { "description": "a list", "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object" } } } } } } } },
            "/api/v1/schedules": { "get": { "summary": "scheduled job definitions: job_name, chain_name, schedule, next_run_date, last_start_date, skipped_count (extension)", "responses": { "200": { "description": "a list", "content": { "application/json": { "schema": { "type": "array", "items": { "type": "object" } } } } } } } },
            "/api/v1/events/stream": { "get": { "summary": "server-sent events: job, step, progress and log changes (event names job, step, progress, log)", "parameters": [q("job", "only this job")], "responses": { "200": { "description": "text/event-stream" } } } },
            "/api/v1/events": post("raise an event", json!({ "type": "object", "required": ["name"], "properties": { "name": s("string"), "job": s("string"), "payload": {} } }), json!({ "type": "object", "properties": { "completed_steps": s("integer") } })),
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
        "/api/v1/chains/{chain}/steps/{step}/drop": post("drop a step of a chain (future runs)", json!({ "type": "object", "properties": { "force": s("boolean") } }), json!({ "type": "object" }))
    });
    if let (Some(paths), Value::Object(more)) =
        (doc.get_mut("paths").and_then(Value::as_object_mut), chains)
    {
        paths.extend(more);
    }
    doc
}
