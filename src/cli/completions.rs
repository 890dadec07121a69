//! `chainsched completions SHELL` and `chainsched man`: shell completion scripts and the man
//! page, generated from the same clap definition as the commands themselves (clap_complete,
//! clap_mangen), so they can never disagree with `--help`.
//!
//! Install (bash): `chainsched completions bash > ~/.local/share/bash-completion/completions/chainsched`;
//! zsh: into a folder of `$fpath` as `_chainsched`; fish: `~/.config/fish/completions/chainsched.fish`.
//! Man pages: `chainsched man > chainsched.1` (the command list), or `chainsched man --dir DIR`
//! for that page plus one page per command (`chainsched-run.1`, …).

use super::Cli;
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write chainsched.1 and one page per command (chainsched-COMMAND.1) into this folder
    /// instead of printing chainsched.1.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub fn completions(a: CompletionsArgs) -> i32 {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "chainsched", &mut buf);
    let _ = std::io::stdout().write_all(&buf);
    0
}

pub fn man(a: ManArgs) -> i32 {
    let cmd = Cli::command();
    match &a.dir {
        None => {
            let mut buf = Vec::new();
            if let Err(e) = clap_mangen::Man::new(cmd).render(&mut buf) {
                errln!("error: cannot render the man page: {e}");
                return 1;
            }
            let _ = std::io::stdout().write_all(&buf);
            0
        }
        Some(dir) => match write_pages(cmd, dir) {
            Ok(n) => {
                outln!("wrote {n} man pages into {}", dir.display());
                0
            }
            Err(e) => {
                errln!("error: cannot write man pages into {}: {e}", dir.display());
                1
            }
        },
    }
}

/// chainsched.1 and chainsched-COMMAND.1 for every command; returns how many were written.
fn write_pages(cmd: clap::Command, dir: &std::path::Path) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = cmd;
    cmd.build();
    let mut n = 0;
    let mut write = |name: String, page: clap::Command| -> std::io::Result<()> {
        let mut buf = Vec::new();
        clap_mangen::Man::new(page)
            .title(name.clone())
            .source(format!("chainsched {}", env!("CARGO_PKG_VERSION")))
            .render(&mut buf)?;
        std::fs::write(dir.join(format!("{name}.1")), buf)?;
        n += 1;
        Ok(())
    };
    for sub in cmd.get_subcommands() {
        let name = format!("chainsched-{}", sub.get_name());
        write(name, sub.clone())?;
    }
    write("chainsched".into(), cmd.clone())?;
    Ok(n)
}
