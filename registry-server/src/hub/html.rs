//! HTML building blocks: escaping, the page frame with its inline style and script, and the response headers
//! (a Content-Security-Policy that allows exactly that style and script, by hash).

use std::sync::LazyLock;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `text` as a link if it is an `http` or `https` URL, else as text; escaped either way.
pub fn link_if_web(text: &str) -> String {
    let lower = text.trim_start().to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!(
            "<a href=\"{0}\" rel=\"noopener noreferrer\">{0}</a>",
            escape(text.trim())
        )
    } else {
        escape(text)
    }
}

const STYLE: &str = "
:root{color-scheme:light dark;--fg:#1b1f24;--muted:#57606a;--bg:#fff;--panel:#f6f8fa;--line:#d0d7de;--accent:#0b5cad;--ok:#1a7f37}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9da7b3;--bg:#0d1117;--panel:#161b22;--line:#30363d;--accent:#6cb6ff;--ok:#56d364}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
a:focus-visible,input:focus-visible,button:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:var(--bg);padding:.5rem}
header{border-bottom:1px solid var(--line);background:var(--panel)}
header div,main{max-width:60rem;margin:0 auto;padding:1rem}
header div{display:flex;align-items:center;gap:1rem;flex-wrap:wrap}
header a{font-weight:700;text-decoration:none;color:var(--fg)}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}
form{display:flex;gap:.5rem;flex:1;min-width:16rem}
input[type=search]{flex:1;min-width:12rem;font:inherit;padding:.5rem;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg)}
button{font:inherit;padding:.5rem 1rem;border:1px solid var(--line);border-radius:6px;background:var(--panel);color:var(--fg);cursor:pointer}
.hint,.muted{color:var(--muted);font-size:.9rem}
.error{border:1px solid #cf222e;border-radius:6px;padding:.5rem 1rem}
ul.results{list-style:none;padding:0}
ul.results li{border:1px solid var(--line);border-radius:8px;padding:.75rem 1rem;margin:.75rem 0}
ul.results h2{margin:0;font-size:1.1rem}
.badge{display:inline-block;font-size:.8rem;border:1px solid var(--line);border-radius:999px;padding:0 .5rem;margin:.25rem .25rem 0 0}
.badge.ok{border-color:var(--ok);color:var(--ok)}
.badge.warn{border-color:#cf222e;color:#cf222e}
p.ok{border:1px solid var(--ok);border-radius:6px;padding:.5rem 1rem}
code,pre{font:.9rem/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.75rem;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{color:var(--muted)}dd{margin:0;word-break:break-all}
table{border-collapse:collapse;width:100%}th,td{text-align:left;border-bottom:1px solid var(--line);padding:.35rem .5rem;vertical-align:top}
caption{text-align:left;color:var(--muted);padding-bottom:.25rem}
";

const SCRIPT: &str = "
(function(){
  var input=document.getElementById('q');var results=document.getElementById('results');
  if(!input||!results||!window.fetch){return;}
  var timer;
  input.addEventListener('input',function(){
    clearTimeout(timer);
    timer=setTimeout(function(){
      var url='/hub?q='+encodeURIComponent(input.value);
      fetch(url,{credentials:'same-origin'}).then(function(r){return r.text();}).then(function(text){
        var fresh=new DOMParser().parseFromString(text,'text/html').getElementById('results');
        if(fresh){results.replaceWith(fresh);results=fresh;history.replaceState(null,'',url);}
      });
    },200);
  });
})();
";

/// The Content-Security-Policy of every page: nothing but the inline style and script above, same-origin fetches
/// and forms.
static CONTENT_SECURITY_POLICY: LazyLock<String> = LazyLock::new(|| {
    let hash = |text: &str| {
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
    };
    format!(
        "default-src 'none'; style-src 'sha256-{}'; script-src 'sha256-{}'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
        hash(STYLE),
        hash(SCRIPT)
    )
});

/// A whole page: `title` (text) and `main` (HTML, already escaped), with the search box holding `query`.
pub fn page(title: &str, query: &str, main: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>{title} · Palisade hub</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
<a class=\"skip\" href=\"#main\">Skip to content</a>\n\
<header><div><a href=\"/hub\">Palisade hub</a>\n\
<form role=\"search\" action=\"/hub\" method=\"get\">\
<label for=\"q\" class=\"visually-hidden\">Search policies</label>\
<input type=\"search\" id=\"q\" name=\"q\" value=\"{query}\" placeholder=\"pods mode:opa mutating:false kind:Pod signed:true\" autocomplete=\"off\">\
<button type=\"submit\">Search</button></form></div></header>\n\
<main id=\"main\">\n{main}\n</main>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        title = escape(title),
        query = escape(query),
    )
}

/// An HTML response with the hub's security headers.
pub fn respond(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(policy) = HeaderValue::from_str(&CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn links_only_web_urls() {
        assert_eq!(
            link_if_web("https://example.com/a?b=1&c=2"),
            "<a href=\"https://example.com/a?b=1&amp;c=2\" rel=\"noopener noreferrer\">https://example.com/a?b=1&amp;c=2</a>"
        );
        assert_eq!(link_if_web("javascript:alert(1)"), "javascript:alert(1)");
        assert_eq!(
            link_if_web("git@example.com:<x>"),
            "git@example.com:&lt;x&gt;"
        );
    }
}
