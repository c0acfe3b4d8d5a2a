//! The `ansible` test stage: the collection `offload.xen` (in `ansible/`)
//! staged where ansible-core looks for it, `ansible-test sanity` on it, its
//! modules' syntax checked for dom0's Python 2.7 and 3.6, and its playbooks
//! run against simulated pools (and, as root, a network namespace).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::test::Outcome;
use crate::util;

/// The sanity tests that need no package of their own: ansible-test runs
/// the others (validate-modules, ansible-doc, yamllint, pep8, pylint, ...) in
/// virtualenvs it bootstraps with a pip script downloaded from outside the
/// package registries, which this machine cannot reach. Three of them run
/// below with the same tools from target/venv instead.
const SANITY_TESTS: &[&str] = &[
    "action-plugin-docs",
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
    "replace-urlopen",
    "shebang",
    "symlinks",
    "use-argspec-type-path",
    "use-compat-six",
];

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

pub fn stage() -> Result<Outcome, String> {
    let venv = util::ensure_venv()?;
    let root = util::workspace_root();
    let mut build = util::cargo();
    // The same packages as the pytest_py stage: one build serves both.
    build.args(["build", "-p", "offload-cli", "-p", "offload-capi"]);
    util::run(build)?;
    let collections = stage_collection(&root)?;
    let staged = collections.join("ansible_collections/offload/xen");
    let mut path = std::ffi::OsString::from(venv.join("bin"));
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());

    let mut sanity = Command::new(venv.join("bin/ansible-test"));
    sanity
        .args(["sanity", "--color", "no", "--local", "--python"])
        .arg(python_version(&venv)?);
    for test in SANITY_TESTS {
        sanity.args(["--test", test]);
    }
    // ansible-test works in the collection's directory; util::run sets the
    // workspace root, so go through `sh -c cd`.
    let mut in_collection = Command::new("sh");
    in_collection
        .arg("-c")
        .arg("cd \"$1\" && shift && exec \"$@\"")
        .arg("sh")
        .arg(&staged)
        .arg(sanity.get_program())
        .args(sanity.get_args())
        .env("PATH", &path)
        // Its caches and virtualenvs go to ~/.ansible/test: keep them in target/.
        .env("HOME", collections.join("home"));
    util::run(in_collection)?;

    // ansible-test's ansible-doc, yamllint and pep8 tests, run directly:
    // every module's DOCUMENTATION, EXAMPLES and RETURN parse...
    let mut modules: Vec<String> = std::fs::read_dir(root.join("ansible/plugins/modules"))
        .map_err(|e| format!("ansible/plugins/modules: {e}"))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter_map(|name| Some(format!("offload.xen.{}", name.strip_suffix(".py")?)))
        .collect();
    modules.sort();
    let mut doc = Command::new(venv.join("bin/ansible-doc"));
    doc.args(["-t", "module", "--json"])
        .args(&modules)
        .env("ANSIBLE_COLLECTIONS_PATH", &collections)
        .stdout(std::process::Stdio::null());
    util::run(doc)?;
    // ... the YAML is clean, and the Python is pep8 as ansible-test checks it.
    let mut yamllint = Command::new(venv.join("bin/yamllint"));
    yamllint.args([
        "--strict",
        "-d",
        "{extends: default, rules: {line-length: {max: 160}}}",
        "ansible",
    ]);
    util::run(yamllint)?;
    let mut pep8 = Command::new(venv.join("bin/pycodestyle"));
    pep8.args([
        "--max-line-length",
        "160",
        "--ignore",
        "E402,W503,W504,E741",
        "ansible",
    ]);
    util::run(pep8)?;

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
        .env("PATH", &path)
        .env("ANSIBLE_COLLECTIONS_PATH", &collections)
        .env("OFFLOADCTL", util::target_dir().join("debug/offloadctl"))
        .env("XAPI_SIM_BIN", exe);
    util::run(pytest).map(|()| Outcome::Passed)
}
