//! Programs: CREATE_PROGRAM, DEFINE_*_ARGUMENT, DROP_PROGRAM_ARGUMENT, and the arguments
//! written once the script is replayed (defaults, or `${NAME}` job parameters).

use super::super::model::*;
use super::super::procs::Bound;
use super::super::value::Value;
use super::{Fatal, Translator};

impl Translator<'_> {
    pub(super) fn create_program(&mut self, b: &Bound) -> Result<(), Fatal> {
        let Some(name) = self.name(b, "program_name") else {
            return Ok(());
        };
        self.must_be_new(b, &name)?;
        let anchor = Anchor::File;
        let Some(ptype) = self.required(b, "program_type", &anchor) else {
            return Ok(());
        };
        let Some(action) = self.required(b, "program_action", &anchor) else {
            return Ok(());
        };
        let anchor = Anchor::Program(name.clone());
        let ptype = ptype.trim().to_ascii_uppercase();
        let mut original_code = None;
        let kind = match ptype.as_str() {
            "EXECUTABLE" => ProgramKind::Executable(action.trim().to_string()),
            "EXTERNAL_SCRIPT" => ProgramKind::Shell(action.trim().to_string()),
            "STORED_PROCEDURE" => {
                let handler = action.trim().to_string();
                self.warn(
                    anchor.clone(),
                    b.span,
                    format!("program {name} calls the stored procedure {handler}, which cannot run outside Oracle: it becomes `handler '{handler}'`, which the embedding service must register"),
                );
                ProgramKind::Handler(handler)
            }
            _ => {
                original_code = Some(action);
                self.warn(
                    anchor.clone(),
                    b.span,
                    format!("program {name} is a {ptype}, which cannot run outside Oracle: it becomes `handler '{name}'`, which the embedding service must register (the original code is kept as a comment)"),
                );
                ProgramKind::Handler(name.clone())
            }
        };
        let number_of_arguments = match b.get("number_of_arguments") {
            Some((Value::Num(n), _)) => n.parse().unwrap_or(0),
            _ => 0,
        };
        let comment = self.text(b, "comments", &anchor);
        let program = Program {
            name: name.clone(),
            kind,
            number_of_arguments,
            argument_defs: Default::default(),
            arguments: Vec::new(),
            comment,
            original_code,
            span: b.span,
            commented: false,
        };
        self.model.programs.push(program);
        Ok(())
    }

    pub(super) fn position(&mut self, b: &Bound, anchor: &Anchor) -> Option<usize> {
        let (v, span) = b.get("argument_position")?.clone();
        match &v {
            Value::Num(n) => match n.parse::<usize>() {
                Ok(p) if (1..=255).contains(&p) => Some(p),
                _ => None,
            },
            _ => None,
        }
        .or_else(|| {
            self.warn(
                anchor.clone(),
                span,
                format!(
                    "{}: argument_position {} is not a position from 1 to 255; ignored",
                    b.proc,
                    v.describe()
                ),
            );
            None
        })
    }

    pub(super) fn define_program_argument(&mut self, b: &Bound) {
        let Some(name) = self.name(b, "program_name") else {
            return;
        };
        let anchor = Anchor::Program(name.clone());
        let Some(pos) = self.position(b, &anchor) else {
            return;
        };
        let arg_name = self.opt_name(b, "argument_name", &anchor);
        let unsupported = b.proc != "DEFINE_PROGRAM_ARGUMENT";
        let default = if unsupported {
            self.warn(anchor.clone(), b.span, format!("{}: argument {pos} of program {name} gets its value from Oracle (metadata or AnyData), which chainsched does not have; it is left to a job parameter", b.proc));
            None
        } else {
            self.text(b, "default_value", &anchor)
        };
        let Some(p) = self.model.program_mut(&name) else {
            self.warn(
                Anchor::File,
                b.span,
                format!(
                    "{}: program {name} is not created by this script; ignored",
                    b.proc
                ),
            );
            return;
        };
        p.argument_defs.insert(
            pos,
            ArgDef {
                name: arg_name,
                default,
                unsupported,
            },
        );
    }

    pub(super) fn drop_program_argument(&mut self, b: &Bound) {
        let Some(name) = self.name(b, "program_name") else {
            return;
        };
        let anchor = Anchor::Program(name.clone());
        let pos = if b.get("argument_position").is_some() {
            self.position(b, &anchor)
        } else {
            None
        };
        let arg_name = self.opt_name(b, "argument_name", &anchor);
        if let Some(p) = self.model.program_mut(&name) {
            p.argument_defs
                .retain(|k, d| Some(*k) != pos && (arg_name.is_none() || d.name != arg_name));
        }
    }

    pub(super) fn program_arguments(&mut self, p: &mut Program) {
        let n = p
            .argument_defs
            .keys()
            .max()
            .copied()
            .unwrap_or(0)
            .max(p.number_of_arguments);
        let span = p.span;
        for pos in 1..=n {
            let def = p.argument_defs.get(&pos).cloned().unwrap_or_default();
            match (&def.default, &def.name) {
                (Some(v), _) => p.arguments.push(v.clone()),
                (None, Some(name)) => {
                    if !def.unsupported {
                        self.warn(Anchor::Program(p.name.clone()), span, format!("program {}: argument {pos} ({name}) has no default value; it is taken from the job parameter {name}", p.name));
                    }
                    p.arguments.push(format!("${{{name}}}"));
                }
                (None, None) => {
                    self.warn(Anchor::Program(p.name.clone()), span, format!("program {}: argument {pos} is not defined with a default value; it is taken from the job parameter ARG{pos}", p.name));
                    p.arguments.push(format!("${{ARG{pos}}}"));
                }
            }
        }
    }
}
