//! The `ansible` test stage: the collection `offload.xen` (in `ansible/`)
//! staged where ansible-core looks for it, `ansible-test sanity` on it, its
//! modules' syntax checked for dom0's Python 2.7 and 3.6, and its playbooks
//! run against simulated pools (and, as root, a network namespace).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::test::Outcome;
use crate::util;

/// The sanity tests run, all of ansible-test's but four: pylint and mypy (a
/// minute or more each on 2 cores, for three small modules), import (a
/// virtualenv per Python version, dom0's 2.7 and 3.6 are checked by vermin
/// instead), and changelog, shellcheck and pslint (no changelog, shell or
/// PowerShell in the collection).
const SANITY_TESTS: &[&str] = &[
    "action-plugin-docs",
    "ansible-doc",
    "compile",
    "empty-init",
    "future-import-boilerplate",
    "ignores",
    "line-endings",
    "metaclass-boilerplate",
    "no-assert",
    "no-basestring",
    "no-dict-iteritems",
    "no-dict-iterkeys",
    "no-dict-itervalues",
    "no-get-exception",
    "no-illegal-filenames",
    "no-main-display",
    "no-smart-quotes",
    "no-unicode-literals",
    "pep8",
    "replace-urlopen",
    "runtime-metadata",
    "shebang",
    "symlinks",
    "use-argspec-type-path",
    "use-compat-six",
    "validate-modules",
    "yamllint",
];

/// Those of [`SANITY_TESTS`] that run in a virtualenv of their own, with
/// packages ansible-test pins; `bootstrap` creates them (`--prime-venvs`).
const SANITY_VENV_TESTS: &[&str] = &[
    "ansible-doc",
    "pep8",
    "runtime-metadata",
    "validate-modules",
    "yamllint",
];

/// ansible-test fills an empty virtualenv with pip through a get-pip script
/// it downloads from outside the package registries, unless this file is
/// cached (the name carries the pip version ansible-core 2.16 pins). This
/// stand-in installs pip from the interpreter's own ensurepip; the rest comes
/// from PyPI as every other package.
const GET_PIP_CACHE: &str = ".ansible/test/cache/get_pip_23_1_2.py";
const GET_PIP_STAND_IN: &str = "\
# Written by `cargo xtask test bootstrap`: pip from ensurepip, then pip install ARGS.
import ensurepip
import os
import runpy
import sys

ensurepip.bootstrap()
# ensurepip hides pip's configuration (index, certificates) from the pip it
# runs in this process; the install below needs it.
os.environ.pop('PIP_CONFIG_FILE', None)
sys.argv = ['pip', 'install'] + sys.argv[1:]
runpy.run_module('pip', run_name='__main__', alter_sys=True)
";

/// `target/ansible/ansible_collections/offload/xen`, a fresh copy of `ansible/`
/// (ansible-test wants the real path to end in ansible_collections/NS/NAME).
fn stage_collection(root: &Path) -> Result<PathBuf, String> {
    let collections = util::target_dir().join("ansible");
    let staged = collections.join("ansible_collections/offload/xen");
    if staged.exists() {
        std::fs::remove_dir_all(&staged)
            .map_err(|e| format!("cannot empty {}: {e}", staged.display()))?;
    }
    let source = root.join("ansible");
    let mut failed = None;
    util::walk_files(&source, &mut |path| {
        let Ok(relative) = path.strip_prefix(&source) else {
            return;
        };
        // Python's caches are not part of the collection (no-unwanted-files).
        if relative
            .components()
            .any(|c| c.as_os_str() == "__pycache__")
        {
            return;
        }
        let to = staged.join(relative);
        let copied = to
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::copy(path, &to).map(|_| ()));
        if let Err(e) = copied {
            failed.get_or_insert(format!("cannot copy {}: {e}", path.display()));
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    // target/ is ignored by the workspace's git, and ansible-test lists a
    // collection's files through git when it sits in a repository: give the
    // copy its own.
    let mut init = Command::new("sh");
    init.arg("-c")
        .arg("cd \"$1\" && git init -q && git add -A")
        .arg("sh")
        .arg(&staged);
    util::run(init)?;
    Ok(collections)
}

/// The venv's Python as `X.Y`, for `ansible-test --python`.
fn python_version(venv: &Path) -> Result<String, String> {
    let mut c = Command::new(venv.join("bin/python"));
    c.args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]);
    Ok(util::output(c)?.trim().to_string())
}

/// $PATH with the venv's programs first (ansible-test runs ansible-doc, ...).
fn venv_path(venv: &Path) -> std::ffi::OsString {
    let mut path = std::ffi::OsString::from(venv.join("bin"));
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

/// `ansible-test sanity ARGS` in the staged collection, with its home (caches
/// and virtualenvs) in target/.
fn ansible_test(venv: &Path, collections: &Path, args: &[&str]) -> Result<(), String> {
    let staged = collections.join("ansible_collections/offload/xen");
    let home = collections.join("home");
    let stand_in = home.join(GET_PIP_CACHE);
    if let Some(dir) = stand_in.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(&stand_in, GET_PIP_STAND_IN)
        .map_err(|e| format!("{}: {e}", stand_in.display()))?;
    // ansible-test works in the collection's directory; util::run sets the
    // workspace root, so go through `sh -c cd`.
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("cd \"$1\" && shift && exec \"$@\"")
        .arg("sh")
        .arg(&staged)
        .arg(venv.join("bin/ansible-test"))
        .args(["sanity", "--color", "no", "--local", "--python"])
        .arg(python_version(venv)?)
        .args(args)
        .env("PATH", venv_path(venv))
        .env("HOME", &home);
    util::run(c)
}

/// For `bootstrap`: the sanity tests' virtualenvs, filled from PyPI once.
pub fn prime() -> Result<(), String> {
    let venv = util::ensure_venv()?;
    let collections = stage_collection(&util::workspace_root())?;
    let mut args = vec!["--prime-venvs"];
    for test in SANITY_VENV_TESTS {
        args.extend(["--test", test]);
    }
    ansible_test(&venv, &collections, &args)
}

pub fn stage() -> Result<Outcome, String> {
    let venv = util::ensure_venv()?;
    let root = util::workspace_root();
    let mut build = util::cargo();
    // The same packages as the pytest_py stage: one build serves both.
    build.args(["build", "-p", "offload-cli", "-p", "offload-capi"]);
    util::run(build)?;
    let collections = stage_collection(&root)?;

    let mut args = Vec::new();
    for test in SANITY_TESTS {
        args.extend(["--test", test]);
    }
    ansible_test(&venv, &collections, &args)?;

    // The modules run on the managed node's Python: dom0 has 2.7 or 3.6.
    let mut vermin = Command::new(venv.join("bin/vermin"));
    vermin.args([
        "-t=2.7-",
        "-t=3.6-",
        "--violations",
        "--no-tips",
        "ansible/plugins",
    ]);
    util::run(vermin)?;

    let exe = std::env::current_exe().map_err(|e| format!("cannot find the xtask binary: {e}"))?;
    let mut pytest = Command::new(venv.join("bin/python"));
    pytest
        .args(["-m", "pytest", "-q", "-rs", "-s", "-p", "no:cacheprovider"])
        .arg("ansible/tests/system")
        .env("PATH", venv_path(&venv))
        .env("ANSIBLE_COLLECTIONS_PATH", &collections)
        .env("OFFLOADCTL", util::target_dir().join("debug/offloadctl"))
        .env("XAPI_SIM_BIN", exe);
    if util::is_root() {
        pytest.env("OFFLOAD_TESTS_NEED_ROOT", "1");
    }
    util::run(pytest).map(|()| Outcome::Passed)
}
