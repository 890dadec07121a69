//! The web dashboard: one self-contained page (HTML, CSS and JavaScript inlined), embedded in
//! the binary so that nothing is built or fetched at run time.
//!
//! The parts live in `assets/` as ordinary files (so they can be edited with the right tools)
//! and are stitched together once when the service starts: the HTML, the CSS, and the script,
//! which is `pictures.js` (the Gantt, chain page, landing page and graph zoom, drawn as plain
//! SVG; docs/dashboard.md) followed by `dashboard.js` (everything else, and the start).

const HTML: &str = include_str!("assets/index.html");
const CSS: &str = include_str!("assets/dashboard.css");
const JS: &str = include_str!("assets/dashboard.js");
const PICTURES_JS: &str = include_str!("assets/pictures.js");

/// The page served at `/`.
pub fn page() -> String {
    let script = format!("{PICTURES_JS}\n{JS}");
    HTML.replace("/*__CSS__*/", CSS)
        .replace("//__JS__", &script)
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
