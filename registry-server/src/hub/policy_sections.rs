//! The sections of a policy's page for its author and its operators, as HTML: the usage text (rendered and
//! sanitised), how to install and try it pinned by digest, its Artifact Hub package, the packages of its SBOMs.
//! Every value from a manifest, a module or a document is escaped; the usage HTML is ammonia's.

use super::html::escape;
use super::policy_page::PolicyPage;
use super::sbom_packages::SbomPackages;

/// The usage text, rendered; nothing without one.
pub fn usage(page: &PolicyPage) -> String {
    page.usage_html
        .as_deref()
        .map(|html| format!("<h2>Usage and settings</h2>\n<div class=\"usage\">\n{html}</div>\n"))
        .unwrap_or_default()
}

/// The `ClusterAdmissionPolicy`, the `palisade run` command, the Artifact Hub package and the comparison with
/// the previous tag.
pub fn install(page: &PolicyPage) -> String {
    let install = &page.install;
    let mut out = "<h2>Install</h2>\n".to_string();
    if let Some(yaml) = &install.cluster_admission_policy {
        out.push_str(&format!(
            "<p>A Kubewarden <code>ClusterAdmissionPolicy</code> running this module, pinned by digest (add its settings under <code>spec.settings</code>):</p>\n\
             <pre><code>{}</code></pre>\n",
            escape(yaml)
        ));
    }
    if !install.notes.is_empty() {
        out.push_str("<ul class=\"notes\">\n");
        for note in &install.notes {
            out.push_str(&format!("<li role=\"note\">{}</li>\n", escape(note)));
        }
        out.push_str("</ul>\n");
    }
    out.push_str(&format!(
        "<p>Evaluate a request with it (make one with <code>palisade scaffold admission-request</code>, the \
         verification config with <code>palisade scaffold verification-config</code>):</p>\n<pre><code>{}</code></pre>\n",
        escape(&install.run)
    ));
    let package = &page.artifacthub_package;
    match (&package.url, &package.problem) {
        (Some(url), _) => out.push_str(&format!(
            "<p><a href=\"{}\" download=\"artifacthub-pkg.yml\">artifacthub-pkg.yml</a> for Artifact Hub (what <code>palisade scaffold artifacthub</code> writes)</p>\n",
            escape(url)
        )),
        (None, Some(problem)) => {
            out.push_str(&format!("<p class=\"muted\">{}</p>\n", escape(problem)))
        }
        (None, None) => {}
    }
    if let Some(compare) = &page.compare_with_previous {
        out.push_str(&format!(
            "<p><a href=\"{}\">Compare with the previous tag</a></p>\n",
            escape(compare)
        ));
    }
    out
}

/// The packages of each attached SBOM; nothing without SBOMs.
pub fn sbom_packages(page: &PolicyPage) -> String {
    page.sbom_packages.iter().map(sbom_table).collect()
}

fn sbom_table(sbom: &SbomPackages) -> String {
    let listing = &sbom.listing;
    let mut out = format!(
        "<h3>Packages of the {} SBOM <code class=\"muted\">{}</code></h3>\n",
        escape(listing.format.as_deref().unwrap_or(sbom.kind.name())),
        escape(&sbom.manifest.to_string())
    );
    if let Some(problem) = &listing.problem {
        out.push_str(&format!(
            "<p class=\"error\" role=\"note\">{}</p>\n",
            escape(problem)
        ));
        return out;
    }
    if listing.packages.is_empty() {
        out.push_str("<p>It lists no package.</p>\n");
        return out;
    }
    let count = match listing.packages.len() {
        1 => "1 package".to_string(),
        n => format!("{n} packages"),
    };
    out.push_str(&format!(
        "<table>\n<caption>{count}</caption>\n<thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Version</th><th scope=\"col\">License</th></tr></thead>\n<tbody>\n"
    ));
    for package in &listing.packages {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            escape(&package.name),
            escape(package.version.as_deref().unwrap_or("")),
            escape(package.license.as_deref().unwrap_or("unknown"))
        ));
    }
    out.push_str("</tbody>\n</table>\n");
    out
}
