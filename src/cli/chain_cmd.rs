//! Changing a chain definition while jobs run it (Oracle's DEFINE_CHAIN_RULE,
//! DROP_CHAIN_RULE, ALTER_CHAIN, DROP_CHAIN_STEP): `define-rule`, `drop-rule`, `alter-chain`,
//! `drop-step`. Each changes the catalog (future runs) and the jobs running the chain, and is
//! durable: it survives a restart of `serve` unless the chain's rule file changes meanwhile
//! (docs/operations.md, "Changing a running chain").
//!
//! Like the other control commands they go to a running service with `--server`, or become
//! the engine on the store (`--db`) for the time of the command.

use super::control::ControlArgs;
use super::control::{answer, client, embedded, engine_error, finish, parse_sets, server_url};
use super::views::CmdError;
use crate::lang::SourceMap;
use crate::runtime::Engine;
use crate::server::client::encode;
use serde_json::{json, Value};

// ---------------------------------------------------------------- define-rule

#[derive(Debug, clap::Args)]
pub struct DefineRuleArgs {
    pub chain: String,
    /// One rule statement, as in a rule file: 'rule NAME when … then …;'
    pub rule: String,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

/// The rule text's diagnostics, rendered with line:column in the text given.
fn rule_errors(text: &str, diags: &[crate::lang::Diagnostic]) -> CmdError {
    let mut sources = SourceMap::default();
    sources.add("<rule>", text.to_string());
    let rendered: String = diags
        .iter()
        .map(|d| crate::lang::diagnostic::render_text(d, &sources))
        .collect();
    CmdError::Problem(format!(
        "the rule has {} error(s):\n{rendered}",
        diags.len()
    ))
}

pub fn define_rule(a: DefineRuleArgs) -> i32 {
    finish((|| {
        let name = match server_url(&a.ctl) {
            Some(url) => {
                let resp: Value = client(&a.ctl, &url)?.post(
                    &format!("/api/v1/chains/{}/rules/define", encode(&a.chain)),
                    &json!({ "rule": a.rule }),
                )?;
                resp["rule"].as_str().unwrap_or_default().to_string()
            }
            None => {
                let (chain, text) = (a.chain.clone(), a.rule.clone());
                embedded(&a.ctl, move |e: Engine| async move {
                    let catalog = e.catalog().map_err(engine_error)?;
                    let def = catalog.chains.get(&chain).ok_or_else(|| {
                        let nearest = crate::lang::diagnostic::nearest_name(
                            &chain,
                            catalog.chains.keys().map(String::as_str),
                        );
                        CmdError::Problem(format!(
                            "unknown chain {chain}{}",
                            crate::lang::diagnostic::did_you_mean(nearest.as_deref())
                        ))
                    })?;
                    let rule = crate::catalog::rule_from_text(def, &text)
                        .map_err(|d| rule_errors(&text, &d))?;
                    let name = rule.name.clone();
                    e.define_rule(&chain, rule).await.map_err(engine_error)?;
                    Ok(name)
                })?
            }
        };
        Ok(answer(
            a.ctl.format,
            format!("rule {name} of chain {} defined", a.chain),
            json!({ "chain": a.chain, "rule": name, "defined": true }),
        ))
    })())
}

// ---------------------------------------------------------------- drop-rule

#[derive(Debug, clap::Args)]
pub struct DropRuleArgs {
    pub chain: String,
    pub rule: String,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

pub fn drop_rule(a: DropRuleArgs) -> i32 {
    finish((|| {
        match server_url(&a.ctl) {
            Some(url) => {
                let _: Value = client(&a.ctl, &url)?.post(
                    &format!(
                        "/api/v1/chains/{}/rules/{}/drop",
                        encode(&a.chain),
                        encode(&a.rule)
                    ),
                    &json!({}),
                )?;
            }
            None => {
                let (chain, rule) = (a.chain.clone(), a.rule.clone());
                embedded(&a.ctl, move |e: Engine| async move {
                    e.drop_rule(&chain, &rule).await.map_err(engine_error)
                })?;
            }
        }
        Ok(answer(
            a.ctl.format,
            format!("rule {} of chain {} dropped", a.rule, a.chain),
            json!({ "chain": a.chain, "rule": a.rule, "dropped": true }),
        ))
    })())
}

// ---------------------------------------------------------------- alter-chain

#[derive(Debug, clap::Args)]
pub struct AlterChainArgs {
    pub chain: String,
    pub step: String,
    /// skip, pause, pause_before, restart_on_failure, restart_on_recovery =true|false;
    /// timeout=30m|none (repeatable)
    #[arg(long = "set", required = true)]
    pub set: Vec<String>,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

pub fn alter_chain(a: AlterChainArgs) -> i32 {
    finish((|| {
        let (change, body) = parse_sets(&a.set)?;
        if change.state.is_some() {
            return Err(CmdError::Usage(
                "--set state: alter-chain changes step attributes; set a state with `alter JOB STEP`"
                    .into(),
            ));
        }
        match server_url(&a.ctl) {
            Some(url) => {
                let _: Value = client(&a.ctl, &url)?.post(
                    &format!(
                        "/api/v1/chains/{}/steps/{}/alter",
                        encode(&a.chain),
                        encode(&a.step)
                    ),
                    &Value::Object(body),
                )?;
            }
            None => {
                let (chain, step) = (a.chain.clone(), a.step.clone());
                embedded(&a.ctl, move |e: Engine| async move {
                    e.alter_chain(&chain, Some(&step), change)
                        .await
                        .map_err(engine_error)
                })?;
            }
        }
        Ok(answer(
            a.ctl.format,
            format!(
                "step {} of chain {} altered ({})",
                a.step,
                a.chain,
                a.set.join(", ")
            ),
            json!({ "chain": a.chain, "step": a.step, "altered": true }),
        ))
    })())
}

// ---------------------------------------------------------------- drop-step

#[derive(Debug, clap::Args)]
pub struct DropStepArgs {
    pub chain: String,
    pub step: String,
    /// Drop it although jobs run the chain: they keep the step (their definitions are
    /// theirs); future runs do not have it.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub ctl: ControlArgs,
}

pub fn drop_step(a: DropStepArgs) -> i32 {
    finish((|| {
        match server_url(&a.ctl) {
            Some(url) => {
                let _: Value = client(&a.ctl, &url)?.post(
                    &format!(
                        "/api/v1/chains/{}/steps/{}/drop",
                        encode(&a.chain),
                        encode(&a.step)
                    ),
                    &json!({ "force": a.force }),
                )?;
            }
            None => {
                let (chain, step, force) = (a.chain.clone(), a.step.clone(), a.force);
                embedded(&a.ctl, move |e: Engine| async move {
                    e.drop_step(&chain, &step, force)
                        .await
                        .map_err(engine_error)
                })?;
            }
        }
        Ok(answer(
            a.ctl.format,
            format!("step {} of chain {} dropped", a.step, a.chain),
            json!({ "chain": a.chain, "step": a.step, "dropped": true, "force": a.force }),
        ))
    })())
}
