//! `offloadctl generate`: the man pages and shell completions, written from the
//! same clap definition the command parses with. Hidden: `cargo xtask docs` runs it.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;

/// Arguments of the hidden `offloadctl generate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to write: `man` (one page per subcommand) or `completions`.
    #[arg(value_parser = ["man", "completions"])]
    what: String,
    /// Folder to write into (created if missing).
    out_dir: PathBuf,
}

/// Writes the man pages or completion scripts into `out_dir`.
pub fn run(args: Args) -> ExitCode {
    let result = match args.what.as_str() {
        "man" => write_man_pages(&args.out_dir),
        _ => write_completions(&args.out_dir),
    };
    match result {
        Ok(written) => {
            for path in written {
                outln!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("offloadctl generate: {}: {err}", args.out_dir.display());
            ExitCode::from(2)
        }
    }
}

fn write_man_pages(out_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out_dir)?;
    let mut written = Vec::new();
    let command = crate::Cli::command();
    write_man_page(&command, "offloadctl", out_dir, &mut written)?;
    Ok(written)
}

fn write_man_page(
    command: &clap::Command,
    name: &str,
    out_dir: &Path,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    if command.is_hide_set() {
        return Ok(());
    }
    let page = command.clone().name(name.to_string());
    let path = out_dir.join(format!("{name}.1"));
    let mut file = std::fs::File::create(&path)?;
    clap_mangen::Man::new(page).render(&mut file)?;
    written.push(path);
    for sub in command.get_subcommands() {
        write_man_page(sub, &format!("{name}-{}", sub.get_name()), out_dir, written)?;
    }
    Ok(())
}

fn write_completions(out_dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    use clap_complete::Shell;
    std::fs::create_dir_all(out_dir)?;
    let mut command = crate::Cli::command();
    let mut written = Vec::new();
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        written.push(clap_complete::generate_to(
            shell,
            &mut command,
            "offloadctl",
            out_dir,
        )?);
    }
    Ok(written)
}
