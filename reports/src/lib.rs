//! kubeproof's results: the versioned `results.json` schema and the writers for `junit.xml` and
//! `summary.md`. The harness fills a [`Results`]; everything a person or a CI job reads is
//! rendered from it, so the three files never disagree.

mod junit;
mod schema;
mod summary;

use std::path::{Path, PathBuf};

pub use junit::to_junit;
pub use schema::{
    Machine, Measurement, Outcome, Percentile, Results, RunMetadata, SCHEMA_VERSION, TargetInfo,
    TestResult, Tool, Totals,
};
pub use summary::to_markdown;

/// Writing a results folder failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The folder or a file in it could not be written.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The results could not be serialized as JSON.
    #[error("cannot serialize results.json")]
    Json(#[source] serde_json::Error),
    /// The results could not be serialized as JUnit XML.
    #[error("cannot serialize junit.xml")]
    Junit(#[source] quick_junit::SerializeError),
}

impl Results {
    /// File names inside a results folder.
    pub const JSON: &'static str = "results.json";
    /// JUnit file name.
    pub const JUNIT: &'static str = "junit.xml";
    /// Markdown summary file name.
    pub const SUMMARY: &'static str = "summary.md";

    /// Write `results.json`, `junit.xml` and `summary.md` into `dir`, creating it if needed.
    pub fn write_dir(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })?;
        let mut json = serde_json::to_string_pretty(self).map_err(Error::Json)?;
        json.push('\n');
        let junit = to_junit(self).map_err(Error::Junit)?;
        let summary = to_markdown(self);
        for (name, text) in [
            (Self::JSON, json),
            (Self::JUNIT, junit),
            (Self::SUMMARY, summary),
        ] {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| Error::Io { path, source })?;
        }
        Ok(())
    }

    /// Read a `results.json` back.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests;
