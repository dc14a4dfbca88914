//! A policy's usage text (Markdown, from its metadata) as HTML the page can show: rendered by `pulldown-cmark`,
//! then sanitised by `ammonia`, so that whatever a policy's author wrote cannot run in a reader's browser.
//!
//! What survives: ammonia's allow-list of tags (headings, lists, tables, code, emphasis, quotes, links…) with only
//! `lang` and `title` attributes; links only to `http`, `https` or relative URLs, each with
//! `rel="noopener noreferrer"`. Raw HTML in the Markdown goes through the same list (`<script>`, `<style>`, event
//! handlers, `style` attributes and `javascript:` URLs are dropped). Images become links to them: the page's
//! Content-Security-Policy (`default-src 'none'`) loads none, and allowing them would let a policy's text make
//! every reader's browser call a server of its choosing. Headings move down two levels, below the page's own
//! `h1` and the section's `h2`.

use std::collections::HashSet;
use std::sync::LazyLock;

use pulldown_cmark::{CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};

/// The sanitiser: ammonia's defaults, without images and image maps, links only to `http`, `https` or relative
/// URLs.
static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::default();
    builder
        .rm_tags(["img", "map", "area"])
        .url_schemes(HashSet::from(["http", "https"]));
    builder
});

/// `markdown` (CommonMark with tables and strikethrough) as sanitised HTML.
pub fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Start(Tag::Heading {
            level,
            id,
            classes,
            attrs,
        }) => Event::Start(Tag::Heading {
            level: lowered(level),
            id,
            classes,
            attrs,
        }),
        Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(lowered(level))),
        Event::Start(Tag::Image {
            dest_url,
            title,
            id,
            ..
        }) => Event::Start(Tag::Link {
            link_type: LinkType::Inline,
            dest_url,
            title: image_title(title),
            id,
        }),
        Event::End(TagEnd::Image) => Event::End(TagEnd::Link),
        other => other,
    });
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events);
    SANITIZER.clean(&html).to_string()
}

/// Two levels down: `#` becomes `h3`, and everything from `####` on `h6`.
fn lowered(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H3,
        HeadingLevel::H2 => HeadingLevel::H4,
        HeadingLevel::H3 => HeadingLevel::H5,
        _ => HeadingLevel::H6,
    }
}

/// The title of the link an image becomes: its own, else one that says it is an image.
fn image_title(title: CowStr<'_>) -> CowStr<'_> {
    if title.is_empty() {
        CowStr::Borrowed("image (not loaded)")
    } else {
        title
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_commonmark() {
        let html = render(
            "# Settings\n\nSome *emphasis* and `code`.\n\n- one\n- two\n\n```yaml\nkey: value\n```\n\n\
             | a | b |\n|---|---|\n| 1 | 2 |\n\n[docs](https://example.com/docs) and [here](/hub)\n",
        );
        for expected in [
            "<h3>Settings</h3>",
            "<em>emphasis</em>",
            "<code>code</code>",
            "<ul>\n<li>one</li>\n<li>two</li>\n</ul>",
            "<pre><code>key: value\n</code></pre>",
            "<table>",
            "<td>1</td>",
            "<a href=\"https://example.com/docs\" rel=\"noopener noreferrer\">docs</a>",
            "<a href=\"/hub\" rel=\"noopener noreferrer\">here</a>",
        ] {
            assert!(html.contains(expected), "{expected} not in {html}");
        }
    }

    #[test]
    fn scripts_handlers_and_other_schemes_are_dropped() {
        let html = render(
            "<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n\
             [click](javascript:alert(3)) [data](data:text/html,<b>x</b>) \
             <a href=\"vbscript:x\" onclick=\"alert(4)\" style=\"color:red\">raw</a>\n\n\
             <style>body{display:none}</style><iframe src=\"https://evil.example\"></iframe>\n\n\
             ![logo](https://tracker.example/pixel.png)",
        );
        for gone in [
            "<script",
            "alert(1)",
            "onerror",
            "<img",
            "javascript:",
            "data:",
            "vbscript:",
            "onclick",
            "style",
            "<iframe",
            "display:none",
        ] {
            assert!(!html.contains(gone), "{gone} in {html}");
        }
        assert!(
            html.contains(
                "<a href=\"https://tracker.example/pixel.png\" title=\"image (not loaded)\" rel=\"noopener noreferrer\">logo</a>"
            ),
            "{html}"
        );
    }

    #[test]
    fn entities_stay_text() {
        let html = render("&lt;script&gt;alert(1)&lt;/script&gt; &amp; `<b>`");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; <code>&lt;b&gt;</code>"),
            "{html}"
        );
    }
}
