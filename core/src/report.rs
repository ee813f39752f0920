//! Progress reporting: operations say what they do; the front end decides
//! how (or whether) to show it.

pub trait Reporter: Send + Sync {
    /// A step in progress ("Creating container ...").
    fn step(&self, message: &str);
    /// A finished operation ("Environment ready").
    fn success(&self, message: &str);
    /// Something the user should know that does not stop the operation.
    fn warn(&self, message: &str);
    /// Asks a yes/no question; `false` when nobody can answer (no terminal).
    fn confirm(&self, _question: &str) -> bool {
        false
    }
}

/// Shows nothing.
pub struct Silent;

impl Reporter for Silent {
    fn step(&self, _: &str) {}
    fn success(&self, _: &str) {}
    fn warn(&self, _: &str) {}
}
