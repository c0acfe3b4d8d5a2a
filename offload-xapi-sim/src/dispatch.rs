//! Method dispatch in xapi's order (research §2.2): method name, parameter
//! count (before the session), session, then the implementation.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::db::{db_text, field_of_column, Class, Db, NULL_REF};
use super::plugin;
use super::session_gc;
use super::task::{self, Pending};
use super::where_expr;
use offload_xapi::wire::Value;

/// Where a request came in; decides authentication and pool-member behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// TCP (plain or TLS) on the master.
    Network,
    /// The unix socket: pre-authenticated as root, like `/var/lib/xcp/xapi`.
    Local,
    /// The pool-member listener: answers `HOST_IS_SLAVE`.
    Member,
}

/// What a call produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Success(Value),
    Failure(Vec<String>),
    /// A value sent without the Status/Value envelope (`system.listMethods`).
    Raw(Value),
}

#[derive(Debug, Clone)]
struct Session {
    this_host: String,
    local: bool,
    /// login_with_password's fourth argument ("" when not given).
    originator: String,
    user: String,
    /// Refreshed by every call (xapi: at most every `threshold_last_active`).
    last_active: Instant,
}

/// Shared server state.
#[derive(Debug)]
pub struct State {
    db: Mutex<Db>,
    changed: Condvar,
    sessions: Mutex<HashMap<String, Session>>,
    calls: Mutex<BTreeMap<String, u64>>,
    total: AtomicU64,
    fields: HashMap<Class, Vec<String>>,
    pub(super) user: String,
    pub(super) password: String,
    pub(super) auth_failure_delay: Duration,
    pub(super) plugins: plugin::Runner,
    /// Answer the offload plugin's `get_features` from the simulated devices.
    pub(super) modelled_offload_plugin: bool,
    pub(super) invalidate_sessions_after: Option<u64>,
    /// How often the session GC runs (xapi: every 30 s), and when it last did.
    pub(super) session_gc_interval: Duration,
    last_session_gc: Mutex<Instant>,
    /// The master's address without a port, what `HOST_IS_SLAVE` names.
    pub(super) master_address: Mutex<String>,
    /// How long VM lifecycle calls and VIF hotplug take.
    pub(super) lifecycle_duration: Duration,
    /// `Async.` calls whose task has not finished.
    pending_tasks: Mutex<Vec<Pending>>,
    /// The most tasks of one call (`VM.clean_reboot`) pending at once.
    task_high_water: Mutex<BTreeMap<String, usize>>,
    /// Runs of a call still to fail (`Faults::fail_calls`).
    pub(super) fail_calls: Mutex<BTreeMap<String, u32>>,
}

fn fail(code: &str, params: &[&str]) -> Reply {
    let mut d = vec![code.to_string()];
    d.extend(params.iter().map(|s| s.to_string()));
    Reply::Failure(d)
}

fn ok() -> Reply {
    Reply::Success(Value::str(""))
}

/// The generic messages every class has (`X.get_all`, ...), with the number
/// of parameters after the session.
const GENERIC: &[(&str, usize)] = &[
    ("get_all", 0),
    ("get_all_records", 0),
    ("get_all_where", 1),
    ("get_all_records_where", 1),
    ("get_record", 1),
    ("get_by_uuid", 1),
    ("set_other_config", 2),
    ("add_to_other_config", 3),
    ("remove_from_other_config", 2),
];

/// Class-specific messages and their parameter counts after the session.
const SPECIFIC: &[(&str, usize)] = &[
    ("session.logout", 0),
    ("session.local_logout", 0),
    ("session.get_this_host", 1),
    ("VM.get_by_name_label", 1),
    ("VM.start", 3),
    ("VM.clone", 2),
    ("VM.set_is_a_template", 2),
    ("VM.copy", 3),
    ("VM.clean_reboot", 1),
    ("VM.hard_reboot", 1),
    ("VM.clean_shutdown", 1),
    ("VM.hard_shutdown", 1),
    ("VIF.plug", 1),
    ("VIF.unplug", 1),
    ("PIF.plug", 1),
    ("PIF.unplug", 1),
    ("host.call_plugin", 4),
    ("task.destroy", 1),
    ("event.from", 3),
    ("event.inject", 2),
];

const CLASS_PREFIXES: &[&str] = &[
    "session", "host", "network", "PIF", "VM", "VIF", "pool", "event", "system", "task", "Bond",
];

/// `Class_method` → `Class.method` (xapi accepts both spellings).
pub fn canonical_name(name: &str) -> String {
    if name.contains('.') {
        return name.to_string();
    }
    for prefix in CLASS_PREFIXES {
        if let Some(rest) = name.strip_prefix(prefix).and_then(|r| r.strip_prefix('_')) {
            return format!("{prefix}.{rest}");
        }
    }
    name.to_string()
}

impl State {
    pub fn new(db: Db, user: String, password: String) -> State {
        let mut fields: HashMap<Class, Vec<String>> = Class::ALL
            .into_iter()
            .filter_map(|class| {
                let first = db.all(class).first()?;
                let names = db.get(first)?.fields.keys().cloned().collect();
                Some((class, names))
            })
            .collect();
        // No task exists at start; its getters exist all the same.
        fields.insert(
            Class::Task,
            task::TASK_FIELDS.iter().map(|f| f.to_string()).collect(),
        );
        State {
            db: Mutex::new(db),
            changed: Condvar::new(),
            sessions: Mutex::new(HashMap::new()),
            calls: Mutex::new(BTreeMap::new()),
            total: AtomicU64::new(0),
            fields,
            user,
            password,
            auth_failure_delay: Duration::ZERO,
            plugins: plugin::Runner::default(),
            modelled_offload_plugin: false,
            invalidate_sessions_after: None,
            session_gc_interval: session_gc::GC_INTERVAL,
            last_session_gc: Mutex::new(Instant::now()),
            master_address: Mutex::new(String::new()),
            lifecycle_duration: Duration::ZERO,
            pending_tasks: Mutex::new(Vec::new()),
            task_high_water: Mutex::new(BTreeMap::new()),
            fail_calls: Mutex::new(BTreeMap::new()),
        }
    }

    /// Whether this run of `method` is one of the injected failures.
    fn injected_failure(&self, method: &str) -> bool {
        let mut left = self.fail_calls.lock().unwrap_or_else(|p| p.into_inner());
        match left.get_mut(method) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }

    fn pending_tasks(&self) -> MutexGuard<'_, Vec<Pending>> {
        self.pending_tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The most tasks of `method` (`VM.clean_reboot`) that were pending at once.
    pub fn task_high_water(&self, method: &str) -> usize {
        self.task_high_water
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// Runs the calls of tasks whose time has come and records their outcome.
    fn finish_due_tasks(&self) {
        let due: Vec<Pending> = {
            let mut pending = self.pending_tasks();
            let now = Instant::now();
            let (due, keep) = pending.drain(..).partition(|p| p.due <= now);
            *pending = keep;
            due
        };
        for p in due {
            let (class, method) = p.method.split_once('.').unwrap_or(("", ""));
            let reply = match Class::from_wire(class) {
                Some(class) => self.object_call(class, method, &p.args),
                None => fail("MESSAGE_METHOD_UNKNOWN", &[&p.method]),
            };
            let outcome = match reply {
                Reply::Success(v) | Reply::Raw(v) => Ok(v),
                Reply::Failure(d) => Err(d),
            };
            task::finish(&mut self.db(), &p.task, outcome);
            self.notify();
        }
    }

    /// `Async.X.m`: checks name, count and session as for `X.m`, then
    /// answers a pending task; the call runs when the task is due.
    fn start_task(&self, origin: Origin, name: &str, inner: &str, params: &[Value]) -> Reply {
        let Some(arity) = self.arity(inner) else {
            return fail("MESSAGE_METHOD_UNKNOWN", &[name]);
        };
        if params.len() != arity + 1 {
            return count_mismatch(name, arity, params.len().saturating_sub(1));
        }
        let session = match self.session(origin, &params[0]) {
            Ok(s) => s,
            Err(reply) => return reply,
        };
        let task = task::create(&mut self.db(), inner, &session.this_host);
        let mut pending = self.pending_tasks();
        pending.push(Pending {
            task: task.clone(),
            method: inner.to_string(),
            args: params[1..].to_vec(),
            due: task::due(inner, self.lifecycle_duration),
        });
        let now = task::in_flight(&pending, inner);
        drop(pending);
        let mut high = self
            .task_high_water
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mark = high.entry(inner.to_string()).or_insert(0);
        *mark = (*mark).max(now);
        drop(high);
        self.notify();
        Reply::Success(Value::String(task))
    }

    pub fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn sessions(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Calls per method so far (canonical `Class.method` names).
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn total_calls(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Forgets every session (clients then get `SESSION_INVALID`).
    pub fn invalidate_sessions(&self) {
        self.sessions().clear();
    }

    pub fn session_count(&self) -> usize {
        self.sessions().len()
    }

    /// A pass of xapi's session GC when one is due: the requests themselves
    /// drive the simulator's clock, which clients cannot tell from xapi's
    /// 30 s timer thread.
    fn collect_sessions_when_due(&self) {
        let now = Instant::now();
        {
            let mut last = self
                .last_session_gc
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if now.saturating_duration_since(*last) < self.session_gc_interval {
                return;
            }
            *last = now;
        }
        let mut sessions = self.sessions();
        // Slave-local sessions live in the member's own database, not the master's.
        let seen: Vec<session_gc::Seen<'_>> = sessions
            .iter()
            .filter(|(_, s)| !s.local)
            .map(|(reference, s)| session_gc::Seen {
                reference,
                originator: &s.originator,
                user: &s.user,
                last_active: s.last_active,
            })
            .collect();
        let doomed: Vec<String> = session_gc::doomed(&seen, now)
            .into_iter()
            .map(str::to_string)
            .collect();
        for reference in doomed {
            sessions.remove(&reference);
        }
    }

    /// The method-names `system.listMethods` reports.
    pub fn method_names(&self) -> Vec<String> {
        let mut names = vec![
            "system.listMethods".to_string(),
            "session.login_with_password".into(),
            "session.slave_local_login_with_password".into(),
        ];
        names.extend(SPECIFIC.iter().map(|(n, _)| n.to_string()));
        for class in Class::ALL {
            let wire = class.wire_name();
            names.extend(GENERIC.iter().map(|(m, _)| format!("{wire}.{m}")));
            for field in self.fields.get(&class).into_iter().flatten() {
                names.push(format!("{wire}.get_{field}"));
            }
        }
        names.sort();
        names.dedup();
        names
    }

    fn arity(&self, name: &str) -> Option<usize> {
        if let Some((_, n)) = SPECIFIC.iter().find(|(m, _)| *m == name) {
            return Some(*n);
        }
        let (class, method) = name.split_once('.')?;
        let class = Class::from_wire(class)?;
        if let Some((_, n)) = GENERIC.iter().find(|(m, _)| *m == method) {
            return Some(*n);
        }
        let field = method.strip_prefix("get_")?;
        self.fields
            .get(&class)?
            .iter()
            .any(|f| f == field)
            .then_some(1)
    }

    /// Handles one call.
    pub fn call(&self, origin: Origin, method: &str, params: &[Value]) -> Reply {
        let name = canonical_name(method);
        let count = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        *self
            .calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.clone())
            .or_insert(0) += 1;
        if self.invalidate_sessions_after == Some(count) {
            self.invalidate_sessions();
        }
        self.collect_sessions_when_due();
        if let Some(bad) = params.iter().find_map(invalid_utf8) {
            return fail(
                "INVALID_VALUE",
                &["Invalid UTF-8 string in parameter", &bad],
            );
        }
        self.finish_due_tasks();
        if let Some(inner) = name.strip_prefix("Async.") {
            return self.start_task(origin, &name, inner, params);
        }
        match name.as_str() {
            "system.listMethods" => {
                return Reply::Raw(Value::Array(
                    self.method_names().into_iter().map(Value::String).collect(),
                ))
            }
            "session.login_with_password" => {
                if params.len() < 2 {
                    return count_mismatch(&name, 2, params.len());
                }
                return self.login(origin, params, false);
            }
            "session.slave_local_login_with_password" => {
                if params.len() != 2 {
                    return count_mismatch(&name, 2, params.len());
                }
                return self.login(origin, params, true);
            }
            _ => {}
        }
        let Some(arity) = self.arity(&name) else {
            // Unknown names with parameters are tried as extensions, which
            // checks the session first.
            if let Some(first) = params.first() {
                if let Err(reply) = self.session(origin, first) {
                    return reply;
                }
            }
            return fail("MESSAGE_METHOD_UNKNOWN", &[method]);
        };
        if params.len() != arity + 1 {
            return count_mismatch(&name, arity, params.len().saturating_sub(1));
        }
        let session = match self.session(origin, &params[0]) {
            Ok(s) => s,
            Err(reply) => return reply,
        };
        let args = &params[1..];
        if task::takes_time(&name) && !self.lifecycle_duration.is_zero() {
            // The synchronous call returns only when the work is done.
            std::thread::sleep(self.lifecycle_duration);
        }
        let (class, method) = name.split_once('.').unwrap_or(("", ""));
        match (class, method) {
            ("session", "logout") | ("session", "local_logout") => {
                self.sessions().remove(params[0].as_str().unwrap_or(""));
                ok()
            }
            ("session", "get_this_host") => Reply::Success(Value::str(session.this_host)),
            ("event", "from") => self.event_from(args),
            ("event", "inject") => self.event_inject(args),
            ("host", "call_plugin") => self.call_plugin(params[0].as_str().unwrap_or(""), args),
            _ => {
                let Some(class) = Class::from_wire(class) else {
                    return fail("MESSAGE_METHOD_UNKNOWN", &[&name]);
                };
                self.object_call(class, method, args)
            }
        }
    }

    fn login(&self, origin: Origin, params: &[Value], local: bool) -> Reply {
        let user = text(&params[0]);
        let password = text(&params[1]);
        if origin == Origin::Member && !local {
            let master = self
                .master_address
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            return fail("HOST_IS_SLAVE", &[&master]);
        }
        let preauth = origin == Origin::Local;
        if !preauth && (user != self.user || password != self.password) {
            std::thread::sleep(self.auth_failure_delay);
            return fail(
                "SESSION_AUTHENTICATION_FAILED",
                &[&user, "Authentication failure"],
            );
        }
        let (reference, this_host) = {
            let mut db = self.db();
            let reference = db.new_ref();
            let host = db.all(Class::Host).first().cloned().unwrap_or_default();
            (reference, host)
        };
        self.sessions().insert(
            reference.clone(),
            Session {
                this_host,
                local: local && origin == Origin::Member,
                originator: params.get(3).map(text).unwrap_or_default(),
                user,
                last_active: Instant::now(),
            },
        );
        Reply::Success(Value::String(reference))
    }

    fn session(&self, origin: Origin, handle: &Value) -> Result<Session, Reply> {
        let handle = text(handle);
        let Some(session) = self.sessions().get_mut(&handle).map(|s| {
            s.last_active = Instant::now();
            s.clone()
        }) else {
            return Err(fail("SESSION_INVALID", &[&handle]));
        };
        if origin == Origin::Member && !session.local {
            let master = self
                .master_address
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            return Err(fail("HOST_IS_SLAVE", &[&master]));
        }
        Ok(session)
    }

    fn notify(&self) {
        self.changed.notify_all();
    }

    fn object_call(&self, class: Class, method: &str, args: &[Value]) -> Reply {
        let wire = class.wire_name();
        if self.injected_failure(&format!("{wire}.{method}")) {
            return fail("INTERNAL_ERROR", &["simulated fault"]);
        }
        let mut db = self.db();
        let db = &mut *db;
        // Every method but the table-wide ones takes an object ref first.
        let table_wide = matches!(
            method,
            "get_all"
                | "get_all_records"
                | "get_all_where"
                | "get_all_records_where"
                | "get_by_uuid"
                | "get_by_name_label"
        );
        let target = if table_wide {
            String::new()
        } else {
            let target = text(&args[0]);
            if db.get_of(class, &target).is_none() {
                return fail("HANDLE_INVALID", &[wire, &target]);
            }
            target
        };
        match method {
            "get_all" => Reply::Success(refs(db.all(class))),
            "get_all_records" => {
                let all = db.all(class).to_vec();
                Reply::Success(records(db, &all))
            }
            "get_all_where" | "get_all_records_where" => {
                let expr_text = text(&args[0]);
                let expr = match where_expr::parse(&expr_text) {
                    Ok(e) => e,
                    Err(e) => return fail("INVALID_VALUE", &[&expr_text, &e.0]),
                };
                let mut found = Vec::new();
                for r in db.all(class) {
                    let Some(obj) = db.get(r) else { continue };
                    let column = |col: &str| {
                        field_of_column(&obj.fields, col).map(|f| db_text(&obj.fields[f]))
                    };
                    match expr.eval(&column) {
                        Ok(true) => found.push(r.clone()),
                        Ok(false) => {}
                        Err(col) => return fail("INTERNAL_ERROR", &["missing field", col, ""]),
                    }
                }
                if method == "get_all_where" {
                    Reply::Success(refs(&found))
                } else {
                    Reply::Success(records(db, &found))
                }
            }
            "get_by_uuid" => {
                let uuid = text(&args[0]);
                match db.by_uuid(class, &uuid) {
                    Some(r) => Reply::Success(Value::str(r)),
                    None => fail("UUID_INVALID", &[wire, &uuid]),
                }
            }
            "get_by_name_label" if class == Class::Vm => {
                let label = text(&args[0]);
                let found: Vec<String> = db
                    .all(class)
                    .iter()
                    .filter(|r| db.get(r).is_some_and(|o| o.str("name_label") == label))
                    .cloned()
                    .collect();
                Reply::Success(refs(&found))
            }
            "get_record" => Reply::Success(record(db, &target)),
            "set_other_config" => {
                let Some(map) = args[1].as_struct() else {
                    return type_error("map", &args[1]);
                };
                if map.contains_key("") {
                    return fail("INTERNAL_ERROR", &["Db_exn.Empty_key_in_map"]);
                }
                let map: BTreeMap<String, Value> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(text(v))))
                    .collect();
                db.set_field(&target, "other_config", Value::Struct(map));
                self.notify();
                ok()
            }
            "add_to_other_config" => {
                let key = text(&args[1]);
                let value = text(&args[2]);
                // db_cache_types.ml: an empty map key raises Empty_key_in_map.
                if key.is_empty() {
                    return fail("INTERNAL_ERROR", &["Db_exn.Empty_key_in_map"]);
                }
                let exists = db
                    .get(&target)
                    .is_some_and(|o| o.string_map("other_config").contains_key(&key));
                if exists {
                    return fail("MAP_DUPLICATE_KEY", &[wire, "other_config", &target, &key]);
                }
                db.update(&target, |f| {
                    if let Some(Value::Struct(m)) = f.get_mut("other_config") {
                        m.insert(key, Value::String(value));
                    }
                });
                self.notify();
                ok()
            }
            "remove_from_other_config" => {
                let key = text(&args[1]);
                let exists = db
                    .get(&target)
                    .is_some_and(|o| o.string_map("other_config").contains_key(&key));
                if exists {
                    db.update(&target, |f| {
                        if let Some(Value::Struct(m)) = f.get_mut("other_config") {
                            m.remove(&key);
                        }
                    });
                    self.notify();
                }
                ok()
            }
            _ => {
                let reply = match (class, method) {
                    (Class::Vm, "clone" | "copy") => {
                        Some(super::clone::clone_vm(db, &target, &text(&args[1])))
                    }
                    // `xe vm-install`: clone the template, then make the
                    // clone a VM (Xapi_vm.set_is_a_template, a plain setter).
                    (Class::Vm, "set_is_a_template") => match &args[1] {
                        Value::Bool(value) => {
                            db.set_field(&target, "is_a_template", Value::Bool(*value));
                            Some(ok())
                        }
                        other => Some(type_error("bool", other)),
                    },
                    (Class::Vm, _) => vm_lifecycle(db, method, &target, args),
                    (Class::Vif, "plug" | "unplug") => vif_plug(db, method, &target),
                    (Class::Pif, "plug" | "unplug") => pif_plug(db, method, &target),
                    (Class::Task, "destroy") => {
                        db.remove(&target);
                        Some(ok())
                    }
                    _ => None,
                };
                if let Some(reply) = reply {
                    self.notify();
                    return reply;
                }
                match method.strip_prefix("get_") {
                    Some(field) => match db.get(&target).and_then(|o| o.fields.get(field)) {
                        Some(v) => Reply::Success(v.clone()),
                        None => fail("MESSAGE_METHOD_UNKNOWN", &[&format!("{wire}.{method}")]),
                    },
                    None => fail("MESSAGE_METHOD_UNKNOWN", &[&format!("{wire}.{method}")]),
                }
            }
        }
    }

    fn event_inject(&self, args: &[Value]) -> Reply {
        let class_name = text(&args[0]);
        let target = text(&args[1]);
        let mut db = self.db();
        let Some(class) = Class::from_wire(&class_name).or(Class::from_event_name(&class_name))
        else {
            return fail("EVENT_SUBSCRIPTION_PARSE_FAILURE", &[&class_name]);
        };
        if db.get_of(class, &target).is_none() {
            return fail("HANDLE_INVALID", &[class.wire_name(), &target]);
        }
        db.update(&target, |_| {});
        let token = token(db.generation());
        drop(db);
        self.notify();
        Reply::Success(Value::String(token))
    }

    fn event_from(&self, args: &[Value]) -> Reply {
        let Some(classes) = args[0].as_array() else {
            return type_error("string set", &args[0]);
        };
        let mut subscriptions: Vec<(Class, Option<String>)> = Vec::new();
        for c in classes {
            let c = text(c);
            if c == "*" {
                subscriptions.extend(Class::ALL.into_iter().map(|k| (k, None)));
                continue;
            }
            let (name, reference) = match c.split_once('/') {
                Some((n, r)) => (n, Some(r.to_string())),
                None => (c.as_str(), None),
            };
            // Xapi_event.Subscription.of_string takes any class name (a
            // split on the first '/' cannot fail); one that names no table
            // selects nothing (table_matches), so the call just waits.
            if let Some(class) = Class::from_event_name(name) {
                subscriptions.push((class, reference));
            }
        }
        let token_text = text(&args[1]);
        let since = if token_text.is_empty() {
            0
        } else {
            match parse_token(&token_text) {
                Some(g) => g,
                None => return fail("EVENT_FROM_TOKEN_PARSE_FAILURE", &[&token_text]),
            }
        };
        let start = Instant::now();
        let deadline = start
            .checked_add(event_from_timeout(args[2].as_f64().unwrap_or(0.0)))
            // Centuries away: as good as never for this process.
            .unwrap_or(start + Duration::from_secs(100 * 365 * 24 * 3600));
        let wanted = |class: Class, r: &str| {
            subscriptions
                .iter()
                .any(|(c, only)| *c == class && only.as_deref().is_none_or(|o| o == r))
        };
        let mut db = self.db();
        loop {
            let changed = db.changed_since(&wanted, since);
            let now = Instant::now();
            if !changed.is_empty() || now >= deadline {
                let events: Vec<Value> = changed
                    .iter()
                    .map(|(r, o)| {
                        let operation = if o.created > since { "add" } else { "mod" };
                        Value::structure([
                            ("id", Value::String(o.modified.to_string())),
                            ("timestamp", Value::str("0.0")),
                            ("class", Value::str(o.class.event_name())),
                            ("operation", Value::str(operation)),
                            ("ref", Value::str(*r)),
                            ("snapshot", Value::Struct(o.fields.clone())),
                        ])
                    })
                    .collect();
                let counts = Class::ALL
                    .into_iter()
                    .map(|c| {
                        (
                            c.event_name().to_string(),
                            Value::Int32(i32::try_from(db.count(c)).unwrap_or(i32::MAX)),
                        )
                    })
                    .collect();
                return Reply::Success(Value::structure([
                    ("events", Value::Array(events)),
                    ("valid_ref_counts", Value::Struct(counts)),
                    ("token", Value::String(token(db.generation()))),
                ]));
            }
            db = self
                .changed
                .wait_timeout(db, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn call_plugin(&self, session: &str, args: &[Value]) -> Reply {
        let host = text(&args[0]);
        if self.db().get_of(Class::Host, &host).is_none() {
            return fail("HANDLE_INVALID", &["host", &host]);
        }
        let Some(map) = args[3].as_struct() else {
            return type_error("map", &args[3]);
        };
        let (plugin_name, function) = (text(&args[1]), text(&args[2]));
        if self.modelled_offload_plugin && plugin_name == "offload" && function == "get_features" {
            let strings = map.iter().map(|(k, v)| (k.clone(), text(v))).collect();
            return match super::device_plugin::get_features(&self.db(), &host, &strings) {
                Ok(answer) => Reply::Success(Value::String(answer)),
                Err(d) => Reply::Failure(d),
            };
        }
        let map = map
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(text(v))))
            .collect();
        match self
            .plugins
            .call(session, &text(&args[1]), &text(&args[2]), map)
        {
            Ok(v) => Reply::Success(v),
            Err(d) => Reply::Failure(d),
        }
    }
}

/// Xapi_event.from: `Clock.Timer.s_to_span timeout |> Option.value
/// ~default:Mtime.Span.(24 * hour)`. s_to_span (ocaml/libs/clock/timer.ml)
/// is `Mtime.Span.of_float_ns`, None for a negative, non-finite or too large
/// number: such a timeout waits a day, not zero.
fn event_from_timeout(seconds: f64) -> Duration {
    let nanos = (seconds * 1e9).round();
    if nanos.is_finite() && nanos >= 0.0 && nanos <= u64::MAX as f64 {
        Duration::from_nanos(nanos as u64)
    } else {
        Duration::from_secs(24 * 3600)
    }
}

/// Formats an event token: `%020d,%020d` (generation, message counter).
pub fn token(generation: u64) -> String {
    format!("{generation:020},{:020}", 0)
}

/// Reads the generation out of a token.
pub fn parse_token(token: &str) -> Option<u64> {
    let (generation, messages) = token.split_once(',')?;
    messages.parse::<i64>().ok()?;
    generation.parse::<u64>().ok()
}

fn count_mismatch(method: &str, expected: usize, received: usize) -> Reply {
    fail(
        "MESSAGE_PARAMETER_COUNT_MISMATCH",
        &[method, &expected.to_string(), &received.to_string()],
    )
}

fn type_error(expected: &str, got: &Value) -> Reply {
    fail(
        "INTERNAL_ERROR",
        &[&format!("Expected {expected}, got {}", got.kind())],
    )
}

/// A value as the string xapi would unmarshal (strings, ints as decimal).
fn text(value: &Value) -> String {
    match value {
        Value::String(s) | Value::DateTime(s) => s.clone(),
        other => db_text(other),
    }
}

fn invalid_utf8(_value: &Value) -> Option<String> {
    // Values are Rust strings: the wire decoder already rejected invalid UTF-8.
    None
}

fn refs(list: &[String]) -> Value {
    Value::Array(list.iter().map(|r| Value::str(r.as_str())).collect())
}

fn record(db: &Db, reference: &str) -> Value {
    db.get(reference)
        .map(|o| Value::Struct(o.fields.clone()))
        .unwrap_or(Value::Nil)
}

fn records(db: &Db, list: &[String]) -> Value {
    Value::Struct(list.iter().map(|r| (r.clone(), record(db, r))).collect())
}

fn lower_state(db: &Db, vm: &str) -> String {
    db.get(vm)
        .map(|o| o.str("power_state").to_ascii_lowercase())
        .unwrap_or_default()
}

/// VM lifecycle calls; `None` when `method` is not one of them.
fn vm_lifecycle(db: &mut Db, method: &str, vm: &str, args: &[Value]) -> Option<Reply> {
    let (allowed, op): (&[&str], &str) = match method {
        "start" => (&["halted"], "start"),
        "clean_reboot" => (&["running"], "clean_reboot"),
        "clean_shutdown" => (&["running"], "clean_shutdown"),
        "hard_reboot" => (&["running", "paused"], "hard_reboot"),
        "hard_shutdown" => (&["running", "paused", "suspended"], "hard_shutdown"),
        _ => return None,
    };
    let obj = db.get(vm)?;
    // Xapi_vm_lifecycle.check_operation_error: an operation the user
    // blocked is refused before anything else.
    if let Some(reason) = obj.string_map("blocked_operations").get(op) {
        return Some(fail("OPERATION_BLOCKED", &[vm, reason]));
    }
    if obj.bool("is_a_template") {
        return Some(fail("VM_IS_TEMPLATE", &[vm, op]));
    }
    if obj.bool("is_control_domain") {
        return Some(fail(
            "OPERATION_NOT_ALLOWED",
            &["This operation is not allowed on a control domain"],
        ));
    }
    let state = lower_state(db, vm);
    if !allowed.contains(&state.as_str()) {
        return Some(fail(
            "VM_BAD_POWER_STATE",
            &[vm, &allowed.join(", "), &state],
        ));
    }
    let hotplug = db.vm_sim.get(vm).is_some_and(|s| s.hotplug);
    let hvm = obj.str("domain_type") == "hvm";
    if method.starts_with("clean_") && hvm && !hotplug {
        return Some(fail("VM_LACKS_FEATURE", &[vm]));
    }
    if method == "start" && !matches!(args.get(1), Some(Value::Bool(_))) {
        return Some(type_error("bool", args.get(1).unwrap_or(&Value::Nil)));
    }
    let vifs = obj.refs("VIFs");
    match method {
        "start" | "clean_reboot" | "hard_reboot" => boot(db, vm, &vifs),
        _ => halt(db, vm, &vifs),
    }
    Some(ok())
}

fn boot(db: &mut Db, vm: &str, vifs: &[String]) {
    let host = match db.get(vm).map(|o| o.str("resident_on").to_string()) {
        Some(h) if h != NULL_REF => h,
        _ => db.all(Class::Host).first().cloned().unwrap_or_default(),
    };
    // A new domain gets a new domid, also on reboot.
    let domid = db
        .all(Class::Vm)
        .iter()
        .filter_map(|r| db.get(r))
        .filter(|o| o.str("resident_on") == host)
        .filter_map(|o| o.fields.get("domid").and_then(Value::as_int))
        .max()
        .unwrap_or(0)
        + 1;
    let was_resident = db.get(vm).is_some_and(|o| o.str("resident_on") == host);
    db.update(vm, |f| {
        f.insert("power_state".into(), Value::str("Running"));
        f.insert("domid".into(), Value::Int(domid));
        f.insert("resident_on".into(), Value::str(host.as_str()));
    });
    if !was_resident {
        db.update(&host, |f| {
            if let Some(Value::Array(list)) = f.get_mut("resident_VMs") {
                list.push(Value::str(vm));
            }
        });
    }
    db.vm_sim.entry(vm.to_string()).or_default().boots += 1;
    for vif in vifs {
        db.set_field(vif, "currently_attached", Value::Bool(true));
        db.apply_vif(vif);
    }
}

fn halt(db: &mut Db, vm: &str, vifs: &[String]) {
    let host = db
        .get(vm)
        .map(|o| o.str("resident_on").to_string())
        .unwrap_or_default();
    db.update(vm, |f| {
        f.insert("power_state".into(), Value::str("Halted"));
        f.insert("domid".into(), Value::Int(-1));
        f.insert("resident_on".into(), Value::str(NULL_REF));
    });
    if host != NULL_REF {
        db.update(&host, |f| {
            if let Some(Value::Array(list)) = f.get_mut("resident_VMs") {
                list.retain(|v| v.as_str() != Some(vm));
            }
        });
    }
    for vif in vifs {
        db.set_field(vif, "currently_attached", Value::Bool(false));
        db.remove_device(vif);
    }
}

/// VIF.plug / VIF.unplug with `xapi_vif_helpers` rules.
fn vif_plug(db: &mut Db, method: &str, vif: &str) -> Option<Reply> {
    let obj = db.get(vif)?;
    let vm = obj.str("VM").to_string();
    let attached = obj.bool("currently_attached");
    let state = lower_state(db, &vm);
    let vm_obj = db.get(&vm)?;
    // Xapi_vif_helpers.valid_operations: checks in this order, the first
    // error found for an operation wins.
    if method == "plug" && vm_obj.bool("is_control_domain") {
        return Some(fail(
            "OPERATION_NOT_ALLOWED",
            &["Control domain does not support hotplug"],
        ));
    }
    match (state.as_str(), attached, method) {
        ("running", true, "plug") => return Some(fail("DEVICE_ALREADY_ATTACHED", &[vif])),
        ("running", false, "unplug") => return Some(fail("DEVICE_ALREADY_DETACHED", &[vif])),
        ("running", _, _) => {}
        _ => return Some(fail("VM_BAD_POWER_STATE", &[&vm, "running", &state])),
    }
    // HVM guests: no guest metrics means no PV drivers
    // (Xapi_pv_driver_version.make_error_opt); drivers that say no hotplug
    // give OPERATION_NOT_ALLOWED.
    if vm_obj.str("domain_type") == "hvm" {
        if vm_obj.str("guest_metrics") == NULL_REF {
            return Some(fail("VM_MISSING_PV_DRIVERS", &[&vm]));
        }
        if !db.vm_sim.get(&vm).is_some_and(|s| s.hotplug) {
            return Some(fail(
                "OPERATION_NOT_ALLOWED",
                &["VM states it does not support VIF hotplug."],
            ));
        }
    }
    if method == "plug" {
        db.set_field(vif, "currently_attached", Value::Bool(true));
        db.apply_vif(vif);
    } else {
        db.set_field(vif, "currently_attached", Value::Bool(false));
        db.remove_device(vif);
    }
    Some(ok())
}

/// PIF.plug (re-applies ethtool settings even when attached) / PIF.unplug.
fn pif_plug(db: &mut Db, method: &str, pif: &str) -> Option<Reply> {
    let obj = db.get(pif)?;
    if !obj.bool("managed") {
        return Some(fail("PIF_UNMANAGED", &[pif]));
    }
    if method == "plug" {
        // Xapi_pif.plug: a bond slave comes up only through its master.
        if obj.str("bond_slave_of") != NULL_REF {
            return Some(fail("CANNOT_PLUG_BOND_SLAVE", &[pif]));
        }
        // Nm.bring_pif_up → create_bond: the master brings its slaves up.
        let slaves: Vec<String> = obj
            .refs("bond_master_of")
            .iter()
            .flat_map(|bond| db.get(bond).map(|b| b.refs("slaves")).unwrap_or_default())
            .collect();
        for target in slaves.iter().map(String::as_str).chain([pif]) {
            db.set_field(target, "currently_attached", Value::Bool(true));
        }
        db.apply_pif(pif);
        return Some(ok());
    }
    if obj.bool("management") {
        return Some(fail("PIF_IS_MANAGEMENT_INTERFACE", &[pif]));
    }
    if obj.bool("disallow_unplug") {
        return Some(fail("PIF_DOES_NOT_ALLOW_UNPLUG", &[pif]));
    }
    let network = obj.str("network").to_string();
    let host = obj.str("host").to_string();
    let in_use = db.all(Class::Vif).iter().find(|r| {
        db.get(r).is_some_and(|v| {
            v.str("network") == network
                && v.bool("currently_attached")
                && db
                    .get(v.str("VM"))
                    .is_some_and(|vm| vm.str("resident_on") == host)
        })
    });
    if let Some(vif) = in_use {
        return Some(fail("VIF_IN_USE", &[&network, vif]));
    }
    db.set_field(pif, "currently_attached", Value::Bool(false));
    db.unplug_pif(pif);
    db.remove_device(&super::db::bridge_key(&network, &host));
    Some(ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn underscore_names_map_to_dotted_ones() {
        assert_eq!(canonical_name("event_from"), "event.from");
        assert_eq!(canonical_name("VM_get_all_records"), "VM.get_all_records");
        assert_eq!(canonical_name("PIF_plug"), "PIF.plug");
        assert_eq!(canonical_name("VM.get_all"), "VM.get_all");
        assert_eq!(canonical_name("nonsense"), "nonsense");
    }

    #[test]
    fn tokens_round_trip() {
        let t = token(42);
        assert_eq!(t, "00000000000000000042,00000000000000000000");
        assert_eq!(parse_token(&t), Some(42));
        assert_eq!(parse_token("42"), None);
        assert_eq!(parse_token("x,1"), None);
    }

    #[test]
    fn event_from_timeouts_that_are_no_span_wait_a_day() {
        let day = Duration::from_secs(24 * 3600);
        assert_eq!(event_from_timeout(0.25), Duration::from_millis(250));
        assert_eq!(event_from_timeout(0.0), Duration::ZERO);
        for odd in [-1.0, -0.6e-9, f64::NAN, f64::INFINITY, 1e30] {
            assert_eq!(event_from_timeout(odd), day, "{odd}");
        }
        // Rounded to whole nanoseconds first, as s_to_span does.
        assert_eq!(event_from_timeout(-1e-10), Duration::ZERO);
    }
}
