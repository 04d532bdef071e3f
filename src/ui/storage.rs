//! The run history in IndexedDB (through `storage.js`): one object per run,
//! `{id, schema, record}` with the [`RunRecord`] as JSON text, so that what is exported is
//! exactly what was stored.

use super::js::{all_runs, delete_runs, on_other_tab_change, open_history, persist, put_runs};
use crate::history::{HISTORY_SCHEMA, RunRecord, check_run};
use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

/// A storage failure, by the browser's own name for it.
#[derive(Clone, Debug, PartialEq)]
pub struct StorageError {
    pub name: String,
    pub message: String,
}

impl StorageError {
    fn from_js(e: JsValue) -> Self {
        let field = |key: &str| {
            Reflect::get(&e, &key.into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        Self {
            name: field("name"),
            message: field("message"),
        }
    }
}

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name.as_str() {
            "QuotaExceededError" => write!(
                f,
                "the browser's storage for this site is full (QuotaExceededError): delete or export old runs"
            ),
            "UnavailableError" | "InvalidStateError" | "SecurityError" => write!(
                f,
                "this browser keeps no history here ({}: {}); runs are not saved, export them to keep them",
                self.name, self.message
            ),
            _ => write!(f, "{}: {}", self.name, self.message),
        }
    }
}

/// A stored run, or what stands in its place when it cannot be read.
#[derive(Clone, Debug, PartialEq)]
pub enum StoredRun {
    Readable(Box<RunRecord>),
    /// Written by another schema or damaged: listed, kept, never overwritten silently.
    Unreadable {
        id: String,
        why: String,
    },
}

impl StoredRun {
    pub fn id(&self) -> &str {
        match self {
            Self::Readable(run) => &run.id,
            Self::Unreadable { id, .. } => id,
        }
    }
}

/// Opens (or creates) the database.
pub async fn open() -> Result<(), StorageError> {
    open_history().await.map_err(StorageError::from_js)?;
    let _ = persist().await;
    Ok(())
}

/// Stores runs in one transaction: all are kept, or none.
pub async fn save(runs: &[RunRecord]) -> Result<(), StorageError> {
    let records = Array::new();
    for run in runs {
        let record = js_sys::Object::new();
        let json = serde_json::to_string(run).expect("a run serialises");
        let _ = Reflect::set(&record, &"id".into(), &run.id.as_str().into());
        let _ = Reflect::set(&record, &"schema".into(), &HISTORY_SCHEMA.into());
        let _ = Reflect::set(&record, &"record".into(), &json.into());
        records.push(&record);
    }
    put_runs(records).await.map_err(StorageError::from_js)
}

/// Every stored run, newest first (pinned runs before the others).
pub async fn load() -> Result<Vec<StoredRun>, StorageError> {
    let stored: Array = all_runs()
        .await
        .map_err(StorageError::from_js)?
        .unchecked_into();
    let mut runs: Vec<StoredRun> = stored.iter().map(read_record).collect();
    runs.sort_by(|a, b| match (a, b) {
        (StoredRun::Readable(a), StoredRun::Readable(b)) => b
            .pinned
            .cmp(&a.pinned)
            .then(b.created_ms.total_cmp(&a.created_ms))
            .then(a.id.cmp(&b.id)),
        (StoredRun::Readable(_), _) => std::cmp::Ordering::Less,
        (_, StoredRun::Readable(_)) => std::cmp::Ordering::Greater,
        (a, b) => a.id().cmp(b.id()),
    });
    Ok(runs)
}

fn read_record(value: JsValue) -> StoredRun {
    let get = |key: &str| Reflect::get(&value, &key.into()).unwrap_or(JsValue::UNDEFINED);
    let id = get("id").as_string().unwrap_or_default();
    let schema = get("schema").as_f64().unwrap_or(0.0) as u32;
    if schema != HISTORY_SCHEMA {
        let why = if schema > HISTORY_SCHEMA {
            format!("saved by a newer Patchbay (record schema {schema}); kept as it is")
        } else {
            format!("record schema {schema} is unknown; kept as it is")
        };
        return StoredRun::Unreadable { id, why };
    }
    match get("record")
        .as_string()
        .ok_or_else(|| "no record text".to_string())
        .and_then(|text| serde_json::from_str::<RunRecord>(&text).map_err(|e| e.to_string()))
        .and_then(|run| match check_run(&run) {
            Ok(()) if run.id != id => Err(format!("its run id {:?} is not its key", run.id)),
            Ok(()) => Ok(run),
            Err((path, message)) => {
                Err(format!("at `{}`: {message}", path.trim_start_matches('.')))
            }
        }) {
        Ok(run) => StoredRun::Readable(Box::new(run)),
        Err(e) => StoredRun::Unreadable {
            id,
            why: format!("damaged ({e}); kept as it is"),
        },
    }
}

pub async fn delete(ids: &[String]) -> Result<(), StorageError> {
    let array = Array::new();
    for id in ids {
        array.push(&id.as_str().into());
    }
    delete_runs(array).await.map_err(StorageError::from_js)
}

/// Calls `callback` whenever another tab of this origin changes the history.
pub fn watch_other_tabs(callback: impl FnMut() + 'static) {
    let closure = Closure::<dyn FnMut()>::new(callback);
    on_other_tab_change(&closure);
    closure.forget();
}
