//! What a user hands Patchbay to run: a spec, a history file (one of its runs) or a share
//! link. The CLI's `run` reads its argument through here.

use crate::history::{HISTORY_FORMAT, HistoryFile};
use crate::share::SharedRun;
use crate::spec::{RunResult, Spec};

/// A spec to run, with the result stored beside it when it came from a history file.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub spec: Spec,
    pub stored: Option<RunResult>,
}

/// A share link (`https://…/#model=…&spec=…`): its spec.
pub fn open_link(link: &str) -> Result<Opened, String> {
    let (_, fragment) = link
        .split_once('#')
        .ok_or("a share link has its experiment after `#`")?;
    let shared = SharedRun::from_fragment(fragment)
        .map_err(|e| e.to_string())?
        .ok_or("the link carries no experiment")?;
    Ok(Opened {
        spec: shared.spec,
        stored: None,
    })
}

/// A file's text: a spec, or a history file and the id of the run to take (needed when it
/// holds more than one).
pub fn open_file(text: &str, run_id: Option<&str>) -> Result<Opened, String> {
    if !text.contains(HISTORY_FORMAT) {
        return Spec::from_json(text)
            .map(|spec| Opened { spec, stored: None })
            .map_err(|e| e.to_string());
    }
    let history = HistoryFile::from_json(text).map_err(|e| e.to_string())?;
    let ids = || {
        history
            .runs
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let run = match run_id {
        Some(id) => history
            .runs
            .iter()
            .find(|r| r.id == id)
            .ok_or_else(|| format!("it has no run `{id}` (it has {})", ids()))?,
        None if history.runs.len() == 1 => &history.runs[0],
        None => {
            return Err(format!(
                "it holds {} runs: choose one with --run ({})",
                history.runs.len(),
                ids()
            ));
        }
    };
    Ok(Opened {
        spec: run.result.spec.clone(),
        stored: Some(run.result.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::examples::EXAMPLES;

    #[test]
    fn specs_and_links_open() {
        let spec = Spec::from_json(EXAMPLES[0].json).unwrap();
        assert_eq!(open_file(EXAMPLES[0].json, None).unwrap().spec, spec);
        let link = format!(
            "https://example.org/patchbay/#{}",
            SharedRun {
                model: None,
                spec: spec.clone()
            }
            .to_fragment()
        );
        assert_eq!(open_link(&link).unwrap().spec, spec);
        assert!(open_link("https://example.org/patchbay/").is_err());
        assert!(open_file("{}", None).unwrap_err().contains("version"));
    }
}
