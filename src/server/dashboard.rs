//! The web dashboard: one self-contained page (HTML, CSS and JavaScript inlined), embedded in
//! the binary so that nothing is built or fetched at run time.
//!
//! The three parts live in `assets/` as ordinary files (so they can be edited with the right
//! tools) and are stitched together once when the service starts.

const HTML: &str = include_str!("assets/index.html");
const CSS: &str = include_str!("assets/dashboard.css");
const JS: &str = include_str!("assets/dashboard.js");

/// The page served at `/`.
pub fn page() -> String {
    HTML.replace("/*__CSS__*/", CSS).replace("//__JS__", JS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_is_self_contained() {
        let p = super::page();
        assert!(p.contains("<style>") && !p.contains("/*__CSS__*/"));
        assert!(p.contains("<script>") && !p.contains("//__JS__"));
        assert!(!p.contains("src=\"http"), "no external scripts");
        assert!(!p.contains("href=\"http"), "no external styles");
    }
}
